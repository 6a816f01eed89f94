"""What the forecasters learn from: the feature matrix, training periods and CV folds."""
