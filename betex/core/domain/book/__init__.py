"""Order books: price levels (`levels.py`), direct matching and rounding (`multi_runner.py`),
implied matching (`two_runner.py`) and binary YES markets (`binary.py`)."""
