//! Small helpers shared by the XML parsers.
