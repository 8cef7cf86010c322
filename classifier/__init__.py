"""The case-type model: a scikit-learn pipeline over Danish and English inquiry text."""
