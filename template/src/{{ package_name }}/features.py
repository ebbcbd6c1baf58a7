"""The model's input and output contract, shared by the pipeline and the API.

Kept free of heavy imports so the serving image needs neither pandas nor pandera.
Replace these with your own dataset's columns (and update data.py's `load_source`).
"""

FEATURES: tuple[str, ...] = ("sepal_length", "sepal_width", "petal_length", "petal_width")
TARGET = "species"
LABELS: tuple[str, ...] = ("setosa", "versicolor", "virginica")

# Physical bounds of a measurement in centimetres: anything outside is a data error, not an outlier.
FEATURE_MIN = 0.0
FEATURE_MAX = 50.0
