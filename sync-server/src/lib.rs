//! The kompas relay library. Not built yet: see the README's "Not built yet" section.
