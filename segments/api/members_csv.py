"""Reading an uploaded CSV of emails: an `email` column (any case, any position) or, without such a
header, the first column of every row."""

from __future__ import annotations

import csv
import io

from rest_framework.exceptions import ValidationError


def csv_emails(upload) -> tuple[list[str], list[int]]:
    """The emails of the file and, for each, its row number as a spreadsheet shows it (1 = first
    line). Blank rows are skipped; a file that is not UTF-8 text or holds no email is a 400."""
    try:
        text = upload.read().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError({"file": ["The file is not UTF-8 text: save the CSV as UTF-8."]}) from exc
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise ValidationError({"file": [f"The file is not a readable CSV: {exc}."]}) from exc
    column, start = 0, 0
    if rows:
        header = [cell.strip().lower() for cell in rows[0]]
        if "email" in header:
            column, start = header.index("email"), 1
    emails, numbers = [], []
    for number, row in enumerate(rows[start:], start=start + 1):
        cell = row[column].strip() if len(row) > column else ""
        if cell:
            emails.append(cell)
            numbers.append(number)
    if not emails:
        raise ValidationError(
            {"file": ["The file holds no email: give an `email` column or one email a row."]}
        )
    return emails, numbers
