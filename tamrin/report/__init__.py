"""Reports: experiments return `Section`s (headings, text, tables, figures) that render to HTML and PDF."""
from tamrin.report.sections import Figure, Notice, Section, Table, Text, load_sections, save_sections

__all__ = ["Section", "Text", "Table", "Figure", "Notice", "save_sections", "load_sections"]
