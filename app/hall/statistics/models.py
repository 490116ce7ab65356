"""The statistics read the hall's rows (`hall_case`), through the indexes declared with them (app/hall/models.py:
a period of received cases, by window, department and matter)."""
