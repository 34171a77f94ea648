"""Splitting a one-cell donor name into salutation, first and last name."""

from __future__ import annotations

from dataclasses import dataclass

# Compared without dots and case: "Dr." and "DR" are both "dr".
TITLES = frozenset(
    {
        "mr",
        "mrs",
        "ms",
        "miss",
        "mx",
        "dr",
        "prof",
        "rev",
        "revd",
        "reverend",
        "fr",
        "hon",
        "honorable",
        "honourable",
        "sir",
        "dame",
        "lady",
        "lord",
        "rabbi",
        "pastor",
        "judge",
        "capt",
        "col",
        "gen",
        "maj",
        "lt",
        "sgt",
    }
)
SUFFIXES = frozenset(
    {"jr", "sr", "ii", "iii", "iv", "phd", "md", "dds", "esq", "cpa", "mba", "rn"}
)
# Lower-case words that belong to the family name that follows them.
SURNAME_PARTICLES = frozenset(
    [
        "de",
        "da",
        "das",
        "do",
        "dos",
        "del",
        "della",
        "der",
        "den",
        "di",
        "du",
        "la",
        "le",
        "van",
        "von",
        "ter",
        "ten",
        "bin",
        "ibn",
        "al",
        "el",
        "st",
    ]
)
CONJUNCTIONS = frozenset({"and", "&", "+"})
# Words that mark a one-cell name as an organisation's, e.g. "Acme Foundation".
ORGANIZATION_WORDS = frozenset(
    {
        "inc",
        "llc",
        "llp",
        "ltd",
        "plc",
        "gmbh",
        "corp",
        "corporation",
        "company",
        "co",
        "foundation",
        "fund",
        "trust",
        "church",
        "parish",
        "temple",
        "synagogue",
        "mosque",
        "ministries",
        "association",
        "society",
        "institute",
        "council",
        "committee",
        "club",
        "bank",
        "university",
        "college",
        "school",
        "partners",
        "group",
    }
)


@dataclass(frozen=True)
class PersonName:
    """The parts of a split name. Parts not found are empty."""

    salutation: str = ""
    first_name: str = ""
    last_name: str = ""


def _bare(word: str) -> str:
    return word.strip(".,").casefold()


def looks_like_organization(name: str) -> bool:
    """Return True when a one-cell name contains a word such as Inc or Foundation."""
    return any(_bare(word) in ORGANIZATION_WORDS for word in name.split())


def split_full_name(text: str) -> PersonName:
    """Split a one-cell name into salutation, first name and last name.

    "Dr. Jane Q. Public Jr." gives "Dr.", "Jane", "Public Jr.": middle initials
    are dropped and suffixes stay on the last name, so that Sr. and Jr. remain
    different people. "Public, Jane" is read as last name first. A couple
    such as "Jane and John Smith" keeps both first names ("Jane and John") with
    the shared last name. A single word is a first name.
    """
    words = text.split()
    if not words:
        return PersonName()
    suffixes = _pop_suffixes(words)
    comma_last_name = ""
    joined = " ".join(words)
    if "," in joined:
        before, _, after = joined.partition(",")
        if before.strip() and after.strip():
            comma_last_name = before.strip()
            words = after.split()
        else:
            words = joined.replace(",", " ").split()
    salutation = _pop_titles(words)
    if comma_last_name:
        first_name = _first_name(words)
        last_name = comma_last_name
    else:
        first_name, last_name = _split_first_last(words)
    if suffixes:
        last_name = " ".join([last_name, *suffixes]).strip()
    return PersonName(salutation=salutation, first_name=first_name, last_name=last_name)


def _pop_suffixes(words: list[str]) -> list[str]:
    """Remove suffixes such as "Jr." or ", PhD" from the end of `words`."""
    suffixes: list[str] = []
    while len(words) > 1 and _bare(words[-1]) in SUFFIXES:
        suffixes.insert(0, words.pop().strip(","))
        words[-1] = words[-1].rstrip(",")
    return suffixes


def _pop_titles(words: list[str]) -> str:
    """Remove leading titles such as "Mr. and Mrs." or "Rev. Dr." from `words`."""
    titles: list[str] = []
    while words:
        joins_titles = (
            bool(titles)
            and len(words) > 1
            and words[0].casefold() in CONJUNCTIONS
            and _bare(words[1]) in TITLES
        )
        if _bare(words[0]) in TITLES or joins_titles:
            titles.append(words.pop(0))
        else:
            break
    return " ".join(titles)


def _first_name(words: list[str]) -> str:
    """Join first names, dropping middle initials ("Jane Q." gives "Jane")."""
    if not words:
        return ""
    first_names = [words[0]]
    first_names.extend(word for word in words[1:] if len(word.strip(".")) > 1)
    return " ".join(first_names)


def _split_first_last(words: list[str]) -> tuple[str, str]:
    for index, word in enumerate(words):
        if word.casefold() in CONJUNCTIONS and 0 < index < len(words) - 1:
            return _split_couple(words[:index], word, words[index + 1 :])
    if len(words) == 1:
        return words[0], ""
    start = _last_name_start(words)
    return _first_name(words[:start]), " ".join(words[start:])


def _last_name_start(words: list[str]) -> int:
    """Return the index where the last name begins, taking in "van der" and
    similar particles."""
    start = len(words) - 1
    while start > 1 and words[start - 1] in SURNAME_PARTICLES:
        start -= 1
    return start


def _split_couple(
    left: list[str], conjunction: str, right: list[str]
) -> tuple[str, str]:
    """Split "Jane and John Smith" or "Jane Doe and John Smith".

    The first names are joined with the conjunction as written. Two different
    last names are joined the same way ("Doe and Smith").
    """
    right_first, right_last = _split_first_last(right)
    if len(left) == 1:
        return f"{left[0]} {conjunction} {right_first}", right_last
    left_first, left_last = _split_first_last(left)
    first_name = f"{left_first} {conjunction} {right_first}"
    if not right_last or left_last.casefold() == right_last.casefold():
        return first_name, left_last or right_last
    return first_name, f"{left_last} {conjunction} {right_last}"
