"""Model training on stored candles: the predictor's own features, walk-forward validation,
ridge (scikit-learn) and lgbm (LightGBM) models, run as jobs on the `training` channel."""
