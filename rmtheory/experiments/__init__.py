"""The paper's experiments as functions returning plain data (one module per figure or family)."""
