"""The Textual app: screens, widgets, styles. The only room that imports Textual."""
