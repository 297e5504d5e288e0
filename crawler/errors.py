"""Failures of a source, as opposed to facts about it.

A block page, a 403 or 429, an answer that is not the expected JSON, a listing whose columns
changed, a truncated page: none of these mean "the data changed". Extractors raise SourceFailure,
the crawl is recorded as failed with its reason, and nothing stored is touched.
"""


class SourceFailure(Exception):
    """The source answered, but not with what a healthy source sends. The message is the reason."""
