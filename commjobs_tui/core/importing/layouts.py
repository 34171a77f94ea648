"""Export layouts of donor CRMs, recognized from the header row.

Header names are compared after `normalize_header`, which drops case, spaces and
punctuation, so "Zip/Postal Code", "ZIP_POSTAL_CODE" and "zip postal code" are
the same name. Each layout lists the columns its exports use. Columns that a
layout does not name are looked up under common names (`GENERIC_COLUMNS`), so a
customised export still imports.

NOTE: the column names come from the vendors' documented and commonly seen
export formats, not from current exports of each product. A vendor that renames
a column falls back to the common names, or to the plain CSV layout.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum


class Field(StrEnum):
    """Kind of donor data in a column, independent of the CRM that exported it."""

    DONOR_ID = "donor id"
    HOUSEHOLD = "household number"
    FORMER_ID = "former id"
    GIFT_ID = "gift id"
    SALUTATION = "salutation"
    FIRST_NAME = "first name"
    LAST_NAME = "last name"
    SUFFIX = "name suffix"
    FULL_NAME = "full name"
    ORGANIZATION = "organization"
    IS_ORGANIZATION = "organization flag"
    EMAIL = "email"
    PHONE = "phone"
    STREET = "street"
    STREET2 = "street line 2"
    CITY = "city"
    STATE = "state"
    POSTAL_CODE = "postal code"
    COUNTRY = "country"
    MAILING_ADDRESS = "mailing address"  # street, city, state, zip in one cell
    NOTES = "notes"
    TAGS = "tags"
    OPTED_OUT = "opt-out flag"  # yes/no
    UNSUBSCRIBED_AT = "unsubscribe time"  # any value means opted out
    AMOUNT = "amount"
    CURRENCY = "currency"
    DATE = "date"
    CAMPAIGN = "campaign"
    FUND = "fund"
    GIFT_STATUS = "gift status"


NAME_FIELDS = (Field.FIRST_NAME, Field.LAST_NAME, Field.FULL_NAME, Field.ORGANIZATION)


def normalize_header(name: str) -> str:
    """Return the header name in lower case without spaces or punctuation."""
    return "".join(char for char in name.casefold() if char.isalnum())


# Common column names, most preferred first. All values are normalised names.
GENERIC_COLUMNS: Mapping[Field, tuple[str, ...]] = {
    Field.DONOR_ID: (
        "donorid",
        "constituentid",
        "contactid",
        "accountid",
        "accountnumber",
        "supporterid",
        "externalid",
        "crmid",
        "id",
    ),
    Field.GIFT_ID: (
        "giftid",
        "donationid",
        "transactionid",
        "transactionnumber",
        "paymentid",
        "opportunityid",
        "receiptid",
        "receiptnumber",
    ),
    Field.SALUTATION: ("salutation", "prefix", "nameprefix", "honorific"),
    Field.FIRST_NAME: (
        "firstname",
        "first",
        "givenname",
        "forename",
        "fname",
        "donorfirstname",
        "contactfirstname",
        "contact1firstname",
    ),
    Field.LAST_NAME: (
        "lastname",
        "last",
        "surname",
        "familyname",
        "lname",
        "donorlastname",
        "contactlastname",
        "contact1lastname",
    ),
    Field.SUFFIX: ("suffix", "namesuffix"),
    Field.FULL_NAME: (
        "fullname",
        "name",
        "donorname",
        "donor",
        "contactname",
        "displayname",
        "constituentname",
        "supportername",
    ),
    Field.ORGANIZATION: (
        "organization",
        "organisation",
        "organizationname",
        "organisationname",
        "orgname",
        "company",
        "companyname",
        "business",
        "businessname",
        "accountname",
        "account1name",
        "employer",
    ),
    Field.IS_ORGANIZATION: ("isorg", "isorganization", "isorganisation", "orgrec"),
    Field.EMAIL: (
        "email",
        "emailaddress",
        "email1",
        "primaryemail",
        "primaryemailaddress",
        "preferredemail",
        "prefemail",
        "personalemail",
        "homeemail",
        "workemail",
        "otheremail",
        "alternateemail",
        "donoremail",
        "contact1preferredemail",
        "contact1personalemail",
        "contact1workemail",
        "contact1otheremail",
    ),
    Field.PHONE: (
        "phone",
        "phonenumber",
        "primaryphone",
        "primaryphonenumber",
        "prefphone",
        "homephone",
        "mobilephone",
        "mobile",
        "cellphone",
        "workphone",
        "businessphone",
        "telephone",
        "contact1homephone",
        "contact1mobilephone",
        "contact1workphone",
    ),
    Field.STREET: (
        "street",
        "streetaddress",
        "address",
        "address1",
        "addressline1",
        "street1",
        "addr1",
        "mailingstreet",
        "homestreet",
        "primarystreet",
        "prefstreet",
        "billingstreet",
    ),
    Field.STREET2: ("address2", "addressline2", "street2", "addr2"),
    Field.CITY: (
        "city",
        "town",
        "mailingcity",
        "homecity",
        "primarycity",
        "prefcity",
        "billingcity",
    ),
    Field.STATE: (
        "state",
        "province",
        "stateprovince",
        "stateorprovince",
        "mailingstate",
        "mailingstateprovince",
        "homestate",
        "homestateprovince",
        "primarystate",
        "prefstate",
        "billingstate",
        "billingstateprovince",
    ),
    Field.POSTAL_CODE: (
        "zip",
        "zipcode",
        "postalcode",
        "postcode",
        "zippostalcode",
        "mailingzip",
        "mailingzippostalcode",
        "mailingpostalcode",
        "homezip",
        "homezippostalcode",
        "primaryzip",
        "primaryzipcode",
        "prefpostalcode",
        "billingzip",
        "billingpostalcode",
    ),
    Field.COUNTRY: (
        "country",
        "countryname",
        "mailingcountry",
        "homecountry",
        "primarycountry",
        "prefcountry",
        "billingcountry",
    ),
    Field.NOTES: ("notes", "note"),
    Field.TAGS: ("tags", "tag"),
    Field.OPTED_OUT: (
        "donotcontact",
        "donotemail",
        "emailoptout",
        "optout",
        "optedout",
        "noemail",
        "unsubscribed",
        "donotsolicit",
        "deceased",
        "isdeceased",
    ),
    Field.AMOUNT: (
        "amount",
        "giftamount",
        "donationamount",
        "transactionamount",
        "paymentamount",
        "amountpaid",
    ),
    Field.CURRENCY: ("currency", "currencycode", "giftcurrency", "donationcurrency"),
    Field.DATE: (
        "date",
        "giftdate",
        "donationdate",
        "transactiondate",
        "transactiondateutc",
        "paymentdate",
        "receiveddate",
        "closedate",
        "dategiven",
    ),
    Field.CAMPAIGN: (
        "campaign",
        "campaignname",
        "campaigntitle",
        "donationcampaignname",
        "appeal",
        "appealname",
        "solicitation",
    ),
    Field.FUND: ("fund", "fundname", "designation", "gauallocation"),
}


@dataclass(frozen=True)
class Layout:
    """A CRM export format.

    `key` prefixes the CRM's donor ids in `Donor.external_id`, so ids from two
    CRMs never collide. The layout matches a header that contains every name in
    at least one of its `signatures`. `columns` lists the layout's own names for
    each field, most preferred first. The generic lookup skips the names in
    `excluded`, which mean something else in this CRM's exports.
    """

    key: str
    name: str
    signatures: tuple[frozenset[str], ...]
    columns: Mapping[Field, tuple[str, ...]]
    excluded: frozenset[str] = frozenset()


NPSP = Layout(
    key="npsp",
    name="Salesforce NPSP",
    signatures=(
        frozenset({"donationamount", "donationdate", "gauallocation"}),
        frozenset({"donationamount", "donationdate", "donationcampaignname"}),
        frozenset({"donationamount", "donationdate", "formerid"}),
        frozenset({"donationamount", "donationstage"}),
        frozenset({"contact1firstname", "contact1lastname"}),
        frozenset({"account1name", "donationamount"}),
    ),
    columns={
        # The unnamed first column of a household export contains the household
        # number. It is empty on the rows of further household members.
        Field.HOUSEHOLD: ("", "householdnumber", "householdid"),
        Field.FORMER_ID: ("formerid",),
        Field.SALUTATION: ("salutation", "contact1salutation"),
        Field.ORGANIZATION: ("organization", "account1name"),
        Field.AMOUNT: ("donationamount",),
        Field.DATE: ("donationdate",),
        Field.CAMPAIGN: ("donationcampaignname", "campaign"),
        Field.FUND: ("gauallocation", "gauallocation1gau"),
        Field.GIFT_STATUS: ("donationstage", "stage"),
    },
)

DONORPERFECT = Layout(
    key="donorperfect",
    name="DonorPerfect",
    signatures=(
        frozenset({"donorid", "giftdate"}),
        frozenset({"donorid", "glcode"}),
        frozenset({"donorid", "solicitcode"}),
        frozenset({"donorid", "orgrec"}),
    ),
    columns={
        Field.DONOR_ID: ("donorid",),
        Field.GIFT_ID: ("giftid",),
        Field.SALUTATION: ("title", "prefix"),
        Field.IS_ORGANIZATION: ("orgrec",),
        Field.AMOUNT: ("amount", "giftamount"),
        Field.DATE: ("giftdate",),
        Field.CAMPAIGN: ("campaign", "solicitcode", "solicitation"),
        Field.FUND: ("glcode", "fund"),
    },
    # SALUTATION is a letter greeting ("Dear Eleanor"). TITLE is Mr., Dr., ...
    excluded=frozenset({"salutation"}),
)

LITTLE_GREEN_LIGHT = Layout(
    key="lgl",
    name="Little Green Light",
    signatures=(frozenset({"lglconstituentid"}), frozenset({"lglgiftid"})),
    columns={
        Field.DONOR_ID: ("lglconstituentid",),
        Field.GIFT_ID: ("lglgiftid", "giftid"),
        Field.SALUTATION: ("prefix",),
        Field.ORGANIZATION: ("orgname", "organization", "company"),
        Field.IS_ORGANIZATION: ("isorg",),
        Field.EMAIL: ("prefemail", "emailaddress", "email", "homeemail", "workemail"),
        Field.PHONE: ("prefphone", "phone", "homephone", "mobilephone"),
        Field.STREET: ("prefstreet", "street"),
        Field.CITY: ("prefcity", "city"),
        Field.STATE: ("prefstate", "state"),
        Field.POSTAL_CODE: ("prefpostalcode", "prefzip", "postalcode"),
        Field.COUNTRY: ("prefcountry", "country"),
        Field.TAGS: ("groups",),
        Field.AMOUNT: ("giftamount", "amount"),
        Field.DATE: ("giftdate", "receiveddate"),
        Field.CAMPAIGN: ("campaign", "appeal"),
        Field.FUND: ("fund",),
    },
    # Salutation is a letter greeting ("Dear Jane"). Prefix is Ms., Dr., ...
    excluded=frozenset({"salutation"}),
)

BLOOMERANG = Layout(
    key="bloomerang",
    name="Bloomerang",
    signatures=(
        frozenset({"accountnumber", "primaryemailaddress"}),
        frozenset({"accountnumber", "accounttype"}),
        frozenset({"accountnumber", "transactionnumber"}),
    ),
    columns={
        Field.DONOR_ID: ("accountnumber", "accountid"),
        Field.GIFT_ID: ("transactionnumber", "transactionid"),
        # "Individual" or "Organization".
        Field.IS_ORGANIZATION: ("accounttype",),
        Field.FULL_NAME: ("name", "fullname"),
        Field.EMAIL: ("primaryemailaddress", "primaryemail", "email"),
        Field.PHONE: ("primaryphonenumber", "primaryphone", "phone"),
        Field.STREET: ("primarystreet", "street"),
        Field.CITY: ("primarycity", "city"),
        Field.STATE: ("primarystate", "state"),
        Field.POSTAL_CODE: ("primaryzipcode", "primaryzip", "primarypostalcode"),
        Field.COUNTRY: ("primarycountry", "country"),
        Field.AMOUNT: ("amount", "transactionamount"),
        Field.DATE: ("date", "transactiondate"),
        Field.CAMPAIGN: ("campaign", "appeal"),
        Field.FUND: ("fund",),
    },
)

GIVEBUTTER = Layout(
    key="givebutter",
    name="Givebutter",
    signatures=(
        frozenset({"transactionid", "feecovered"}),
        frozenset({"transactionid", "campaigncode"}),
        frozenset({"transactionid", "campaigntitle"}),
        frozenset({"contactid", "feecovered"}),
        frozenset({"transactiondateutc"}),
    ),
    columns={
        Field.DONOR_ID: ("contactid",),
        Field.GIFT_ID: ("transactionid",),
        Field.ORGANIZATION: ("company",),
        Field.STREET: ("address1", "addressline1", "address"),
        Field.STREET2: ("address2", "addressline2"),
        Field.POSTAL_CODE: ("zipcode", "zip", "postalcode"),
        Field.AMOUNT: ("amount",),
        Field.CURRENCY: ("currency",),
        Field.DATE: ("transactiondateutc", "transactiondate", "date", "createdat"),
        Field.CAMPAIGN: ("campaigntitle", "campaign", "campaigncode"),
        Field.FUND: ("fund", "fundcode"),
        Field.GIFT_STATUS: ("status",),
    },
)

DONORBOX = Layout(
    key="donorbox",
    name="Donorbox",
    signatures=(
        frozenset({"donoremail", "donationdate"}),
        frozenset({"donorfirstname", "donorlastname"}),
        frozenset({"donoremail", "designation"}),
        frozenset({"donoremail", "netamount"}),
    ),
    columns={
        Field.GIFT_ID: ("donationid", "receiptid"),
        Field.FIRST_NAME: ("donorfirstname", "firstname"),
        Field.LAST_NAME: ("donorlastname", "lastname"),
        Field.FULL_NAME: ("name", "donorname"),
        Field.EMAIL: ("donoremail", "email"),
        Field.PHONE: ("phone", "donorphone"),
        Field.STREET: ("address", "address1"),
        Field.STREET2: ("address2",),
        Field.STATE: ("stateprovince", "state"),
        Field.POSTAL_CODE: ("postalcode", "zipcode", "zip"),
        Field.AMOUNT: ("amount",),
        Field.CURRENCY: ("currency",),
        Field.DATE: ("donationdate", "date"),
        Field.CAMPAIGN: ("campaign",),
        Field.FUND: ("designation", "fund"),
        Field.GIFT_STATUS: ("donationstatus", "status"),
    },
)

# Mailchimp audiences are keyed by email address and have no gifts. The Address
# column contains the whole postal address, its parts separated by two spaces.
MAILCHIMP = Layout(
    key="mailchimp",
    name="Mailchimp audience",
    signatures=(
        frozenset({"emailaddress", "memberrating"}),
        frozenset({"emailaddress", "leid"}),
        frozenset({"emailaddress", "euid"}),
        frozenset({"emailaddress", "optintime"}),
    ),
    columns={
        Field.EMAIL: ("emailaddress",),
        Field.MAILING_ADDRESS: ("address",),
        Field.PHONE: ("phonenumber", "phone"),
        Field.NOTES: ("notes",),
        Field.TAGS: ("tags",),
        Field.UNSUBSCRIBED_AT: ("unsubtime",),
    },
)

PLAIN = Layout(
    key="csv",
    name="plain CSV",
    signatures=(),
    columns={},
)

LAYOUTS = (
    NPSP,
    DONORPERFECT,
    LITTLE_GREEN_LIGHT,
    BLOOMERANG,
    GIVEBUTTER,
    DONORBOX,
    MAILCHIMP,
)


@dataclass(frozen=True)
class ColumnMap:
    """The columns of one file assigned to fields, most preferred first."""

    layout: Layout
    header: tuple[str, ...]
    indexes: Mapping[Field, tuple[int, ...]]

    def has(self, field: Field) -> bool:
        return field in self.indexes

    def cell(self, cells: Sequence[str], field: Field) -> tuple[str, str] | None:
        """Return the header name and trimmed value of the field's first non-empty
        cell in the row, or None when all its cells are empty or missing."""
        for index in self.indexes.get(field, ()):
            if index < len(cells):
                value = cells[index].strip()
                if value:
                    return self.header[index], value
        return None

    def value(self, cells: Sequence[str], field: Field) -> str:
        found = self.cell(cells, field)
        return found[1] if found is not None else ""


def recognize_layout(header: Sequence[str]) -> Layout:
    """Return the layout with the largest signature that the header contains.

    Ties go to the layout listed first in LAYOUTS. A header that contains no
    signature gets the plain CSV layout.
    """
    names = {normalize_header(name) for name in header}
    best = PLAIN
    best_size = 0
    for layout in LAYOUTS:
        for signature in layout.signatures:
            if signature <= names and len(signature) > best_size:
                best, best_size = layout, len(signature)
    return best


def map_columns(header: Sequence[str]) -> ColumnMap:
    """Recognize the layout and assign the header's columns to fields.

    The layout's own names are used first. A field it does not name, or whose
    names are missing from this header, is looked up in `GENERIC_COLUMNS`,
    skipping columns the layout assigned or excludes.
    """
    layout = recognize_layout(header)
    positions: dict[str, list[int]] = {}
    for index, name in enumerate(header):
        positions.setdefault(normalize_header(name), []).append(index)

    indexes: dict[Field, tuple[int, ...]] = {}
    claimed = {
        index
        for index, name in enumerate(header)
        if normalize_header(name) in layout.excluded
    }
    for field, aliases in layout.columns.items():
        found = _find_columns(aliases, positions, claimed)
        if found:
            indexes[field] = found
            claimed.update(found)
    for field, aliases in GENERIC_COLUMNS.items():
        if field in indexes:
            continue
        found = _find_columns(aliases, positions, claimed)
        if found:
            indexes[field] = found
            claimed.update(found)
    return ColumnMap(layout=layout, header=tuple(header), indexes=indexes)


def _find_columns(
    aliases: Sequence[str], positions: Mapping[str, list[int]], claimed: set[int]
) -> tuple[int, ...]:
    found: list[int] = []
    for alias in aliases:
        for index in positions.get(alias, ()):
            if index not in claimed and index not in found:
                found.append(index)
    return tuple(found)
