"""The comparison report: its table, its figures and its Markdown and HTML pages."""
