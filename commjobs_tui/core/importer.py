"""Donor import from CRM CSV exports: the public API.

`import_donors` reads a CSV export of Salesforce NPSP, DonorPerfect, Little
Green Light, Bloomerang, Givebutter, Donorbox, a Mailchimp audience, or any file
with name or email columns, and writes donors and gifts in one transaction.
`format_summary` renders the returned summary for the CLI and the TUI.
"""

from commjobs_tui.core.importing.service import import_donors
from commjobs_tui.core.importing.source import ImportFileError
from commjobs_tui.core.importing.summary import (
    ImportSummary,
    RowNote,
    SkippedRow,
    format_summary,
)

__all__ = [
    "ImportFileError",
    "ImportSummary",
    "RowNote",
    "SkippedRow",
    "format_summary",
    "import_donors",
]
