"""Building blocks of scripts/make_demo_data.py, split by concept."""
