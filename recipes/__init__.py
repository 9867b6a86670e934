"""Lightning training recipes, one folder per trainable model (importable from a checkout).

This is the only package that imports Lightning. No recipe is implemented yet.
"""
