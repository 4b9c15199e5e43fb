"""Instructor-side grading code that nbgrader loads through nbgrader_config.py (not used by notebooks)."""
