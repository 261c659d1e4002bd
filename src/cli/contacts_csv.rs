//! The flat CSV form of a contact (one row per contact), as a CRM export maps
//! onto it. The columns are documented in `docs/evaluate.md`; header
//! names match without case, spaces, underscores or hyphens, so
//! `contact_id`, `contactId` and `Contact ID` are the same column. Unknown
//! columns are ignored; only `contact_id` is required.
//!
//! One consent, one suppression and one purchase date fit in a row (several
//! purchase categories may share it, separated by `;`). For more, use NDJSON.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use csv::{ByteRecord, StringRecord};

use crate::pb;

/// The columns, by canonical name. Order = the order of `docs/evaluate.md`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub enum Col {
    ContactId,
    Version,
    FirstName,
    LastName,
    Email,
    JobTitle,
    Language,
    Country,
    OrganisationId,
    OrganisationName,
    OrganisationCountry,
    LegalForm,
    EntityType,
    OrganisationDomain,
    EmployeeCount,
    Industry,
    PublishedMarketingAddresses,
    Relationship,
    SourceKind,
    SourceProvider,
    SourceObtainedAt,
    SourceInformedAtCollection,
    Art14NoticeSentAt,
    SourceRestricted,
    LastVerifiedAt,
    ExclusionLists,
    PurchaseCategories,
    PurchasedAt,
    PurchaseAddressSuppliedByContact,
    PurchaseOptOutOffered,
    ConsentBrand,
    ConsentPurpose,
    ConsentChannel,
    ConsentCapturedAt,
    ConsentTextVersion,
    ConsentCaptureSource,
    ConsentDoubleOptInAt,
    ConsentWithdrawnAt,
    SuppressionScope,
    SuppressionBrand,
    SuppressionPurpose,
    SuppressionReason,
    SuppressionAt,
}

/// (column, canonical header, accepted aliases).
pub const COLUMNS: &[(Col, &str, &[&str])] = &[
    (Col::ContactId, "contact_id", &["id"]),
    (Col::Version, "version", &["contact_version"]),
    (Col::FirstName, "first_name", &["firstname", "given_name"]),
    (
        Col::LastName,
        "last_name",
        &["lastname", "surname", "family_name"],
    ),
    (Col::Email, "email", &["email_address", "e_mail"]),
    (Col::JobTitle, "job_title", &["title", "function_title"]),
    (Col::Language, "language", &["title_language", "lang"]),
    (Col::Country, "country", &["contact_country"]),
    (
        Col::OrganisationId,
        "organisation_id",
        &["organization_id", "account_id", "company_id"],
    ),
    (
        Col::OrganisationName,
        "organisation_name",
        &[
            "organization_name",
            "company",
            "company_name",
            "account_name",
        ],
    ),
    (
        Col::OrganisationCountry,
        "organisation_country",
        &["organization_country", "company_country"],
    ),
    (Col::LegalForm, "legal_form", &["company_legal_form"]),
    (Col::EntityType, "entity_type", &[]),
    (
        Col::OrganisationDomain,
        "organisation_domain",
        &["organization_domain", "company_domain", "domain", "website"],
    ),
    (
        Col::EmployeeCount,
        "employee_count",
        &["employees", "number_of_employees"],
    ),
    (Col::Industry, "industry", &["nace"]),
    (
        Col::PublishedMarketingAddresses,
        "published_marketing_addresses",
        &[],
    ),
    (Col::Relationship, "relationship", &["lifecycle_stage"]),
    (Col::SourceKind, "source_kind", &["source", "lead_source"]),
    (Col::SourceProvider, "source_provider", &["provider"]),
    (
        Col::SourceObtainedAt,
        "source_obtained_at",
        &["obtained_at", "created_at"],
    ),
    (
        Col::SourceInformedAtCollection,
        "source_informed_at_collection",
        &["informed_at_collection"],
    ),
    (
        Col::Art14NoticeSentAt,
        "art14_notice_sent_at",
        &["source_art14_notice_sent_at"],
    ),
    (Col::SourceRestricted, "source_restricted", &["restricted"]),
    (Col::LastVerifiedAt, "last_verified_at", &["verified_at"]),
    (Col::ExclusionLists, "exclusion_lists", &[]),
    (
        Col::PurchaseCategories,
        "purchase_categories",
        &["purchase_category", "product_category"],
    ),
    (
        Col::PurchasedAt,
        "purchased_at",
        &["last_purchase_at", "purchase_date"],
    ),
    (
        Col::PurchaseAddressSuppliedByContact,
        "purchase_address_supplied_by_contact",
        &["address_supplied_by_contact"],
    ),
    (
        Col::PurchaseOptOutOffered,
        "purchase_opt_out_offered",
        &[
            "opt_out_offered_at_collection",
            "purchase_opt_out_offered_at_collection",
        ],
    ),
    (Col::ConsentBrand, "consent_brand", &[]),
    (Col::ConsentPurpose, "consent_purpose", &[]),
    (Col::ConsentChannel, "consent_channel", &[]),
    (
        Col::ConsentCapturedAt,
        "consent_captured_at",
        &["consent_at"],
    ),
    (Col::ConsentTextVersion, "consent_text_version", &[]),
    (Col::ConsentCaptureSource, "consent_capture_source", &[]),
    (
        Col::ConsentDoubleOptInAt,
        "consent_double_opt_in_at",
        &["double_opt_in_at"],
    ),
    (
        Col::ConsentWithdrawnAt,
        "consent_withdrawn_at",
        &["withdrawn_at"],
    ),
    (Col::SuppressionScope, "suppression_scope", &[]),
    (Col::SuppressionBrand, "suppression_brand", &[]),
    (Col::SuppressionPurpose, "suppression_purpose", &[]),
    (
        Col::SuppressionReason,
        "suppression_reason",
        &["objection_reason"],
    ),
    (
        Col::SuppressionAt,
        "suppression_at",
        &["objected_at", "unsubscribed_at"],
    ),
];

const N: usize = Col::SuppressionAt as usize + 1;

/// Header names compare lower-cased, with only letters and digits kept.
fn header_key(h: &str) -> String {
    h.trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Where each known column is in the file.
#[derive(Clone, Debug)]
pub struct Columns {
    index: [Option<usize>; N],
}

impl Columns {
    pub fn from_header(header: &ByteRecord) -> Result<Columns, String> {
        let mut index = [None; N];
        for (i, raw) in header.iter().enumerate() {
            let name = String::from_utf8_lossy(raw);
            let key = header_key(&name);
            let found = COLUMNS.iter().find(|(_, canonical, aliases)| {
                header_key(canonical) == key || aliases.iter().any(|a| header_key(a) == key)
            });
            if let Some((col, canonical, _)) = found {
                let slot = &mut index[*col as usize];
                if slot.is_some() {
                    return Err(format!("column {canonical} appears twice in the header"));
                }
                *slot = Some(i);
            }
        }
        if index[Col::ContactId as usize].is_none() {
            return Err("the header has no contact_id column (see docs/evaluate.md)".into());
        }
        Ok(Columns { index })
    }

    /// The contact id of a row that could not be split into the header's
    /// columns (wrong field count, not UTF-8), so its `INPUT_INVALID` decision
    /// can still name it. Only when `contact_id` is the first column: a stray
    /// delimiter before any later column would shift it onto another value.
    pub fn leading_id(&self, rec: &ByteRecord) -> String {
        match self.index[Col::ContactId as usize] {
            Some(0) => rec
                .get(0)
                .and_then(|b| std::str::from_utf8(b).ok())
                .map_or_else(String::new, |id| id.trim().to_owned()),
            _ => String::new(),
        }
    }
}

/// Why a row could not be read; `column` is the canonical name.
#[derive(Debug)]
pub struct RowError {
    pub contact_id: String,
    pub message: String,
}

struct Row<'r> {
    rec: &'r StringRecord,
    cols: &'r Columns,
}

impl<'r> Row<'r> {
    fn raw(&self, c: Col) -> Result<&'r str, String> {
        Ok(self.cols.index[c as usize]
            .and_then(|i| self.rec.get(i))
            .map_or("", str::trim))
    }

    fn date(&self, c: Col) -> Result<Option<pb::Timestamp>, String> {
        parse_date(self.raw(c)?)
            .map(|d| d.map(pb::Timestamp::from))
            .map_err(|e| format!("column {}: {e}", name(c)))
    }

    fn bool(&self, c: Col) -> Result<bool, String> {
        parse_bool(self.raw(c)?).map_err(|e| format!("column {}: {e}", name(c)))
    }

    fn enumeration<T>(&self, c: Col, parse: fn(&str) -> Option<T>) -> Result<Option<T>, String> {
        let v = self.raw(c)?;
        if v.is_empty() {
            return Ok(None);
        }
        if let Some(x) = parse(v) {
            return Ok(Some(x));
        }
        let key: String = v
            .chars()
            .map(|ch| {
                if ch == ' ' || ch == '-' {
                    '_'
                } else {
                    ch.to_ascii_uppercase()
                }
            })
            .collect();
        parse(&key)
            .map(Some)
            .ok_or_else(|| format!("column {}: unknown value {v:?}", name(c)))
    }

    fn any_set(&self, cols: &[Col]) -> Result<bool, String> {
        for &c in cols {
            if !self.raw(c)?.is_empty() {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

fn name(c: Col) -> &'static str {
    COLUMNS[c as usize].1
}

/// RFC 3339, `YYYY-MM-DD` (midnight UTC) or `YYYY-MM-DD HH:MM[:SS]` (UTC); "" = not set.
/// Years outside 0001–9999 are refused: `google.protobuf.Timestamp` (and so
/// every event and decision) cannot carry them, though chrono parses "+12345".
pub fn parse_date(s: &str) -> Result<Option<DateTime<Utc>>, String> {
    use chrono::Datelike as _;
    match parse_any_date(s)? {
        Some(d) if !(1..=9999).contains(&d.year()) => Err(format!(
            "date {:?} is outside the years 0001-9999",
            s.trim()
        )),
        d => Ok(d),
    }
}

fn parse_any_date(s: &str) -> Result<Option<DateTime<Utc>>, String> {
    let s = s.trim();
    if s.is_empty() || s.eq_ignore_ascii_case("null") {
        return Ok(None);
    }
    // The common case, without chrono's format-string machinery.
    if let Some(d) = plain_date(s) {
        return Ok(Some(d));
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Ok(Some(d.with_timezone(&Utc)));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(Some(d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()));
    }
    for f in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(d) = NaiveDateTime::parse_from_str(s, f) {
            return Ok(Some(d.and_utc()));
        }
    }
    Err(format!(
        "unparseable date {s:?} (RFC 3339, YYYY-MM-DD or YYYY-MM-DD HH:MM:SS)"
    ))
}

/// `YYYY-MM-DD` → midnight UTC.
fn plain_date(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, m, d)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
}

pub fn parse_bool(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "" | "false" | "no" | "n" | "0" => Ok(false),
        "true" | "yes" | "y" | "1" => Ok(true),
        other => Err(format!("{other:?} is not true/false/yes/no/1/0")),
    }
}

/// One CSV row → a contract `Contact`. Names, the organisation's name and
/// industry and the source's provider are not read: no rule uses them, and
/// what is not read cannot leak (data minimisation).
pub fn contact(rec: &StringRecord, cols: &Columns) -> Result<pb::Contact, RowError> {
    let mut c = pb::Contact::default();
    contact_into(rec, cols, &mut c).map(|()| c)
}

/// [`contact`] into an existing message, reusing its buffers (for reading
/// millions of rows without allocating per field).
pub fn contact_into(
    rec: &StringRecord,
    cols: &Columns,
    c: &mut pb::Contact,
) -> Result<(), RowError> {
    let row = Row { rec, cols };
    read_into(&row, c).map_err(|message| RowError {
        contact_id: row.raw(Col::ContactId).unwrap_or("").to_owned(),
        message,
    })
}

fn set(dst: &mut String, src: &str) {
    dst.clear();
    dst.push_str(src);
}

/// `dst` = the `;`/`|`-separated items of `src`, reusing `dst`'s strings.
fn set_list(dst: &mut Vec<String>, src: &str) {
    let mut n = 0;
    for item in src
        .split([';', '|'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        match dst.get_mut(n) {
            Some(slot) => set(slot, item),
            None => dst.push(item.to_owned()),
        }
        n += 1;
    }
    dst.truncate(n);
}

fn read_into(row: &Row<'_>, c: &mut pb::Contact) -> Result<(), String> {
    let contact_id = row.raw(Col::ContactId)?;
    if contact_id.is_empty() {
        return Err("missing contact_id".into());
    }
    set(&mut c.contact_id, contact_id);
    c.version = match row.raw(Col::Version)? {
        "" => 0,
        v => v
            .parse()
            .map_err(|_| format!("column version: {v:?} is not an integer"))?,
    };
    c.first_name.clear();
    c.last_name.clear();
    set(&mut c.email, row.raw(Col::Email)?);
    set(&mut c.job_title, row.raw(Col::JobTitle)?);
    set(&mut c.language, row.raw(Col::Language)?);
    set(&mut c.country, row.raw(Col::Country)?);

    let o = c.organisation.get_or_insert_with(Default::default);
    set(&mut o.organisation_id, row.raw(Col::OrganisationId)?);
    o.name.clear();
    set(&mut o.country, row.raw(Col::OrganisationCountry)?);
    set(&mut o.legal_form, row.raw(Col::LegalForm)?);
    o.entity_type = row
        .enumeration(Col::EntityType, pb::entity_type::Value::from_str_name)?
        .map_or(0, |v| v as i32);
    set(&mut o.domain, row.raw(Col::OrganisationDomain)?);
    o.employee_count = match row.raw(Col::EmployeeCount)? {
        "" => 0,
        v => v
            .parse()
            .map_err(|_| format!("column employee_count: {v:?} is not an integer"))?,
    };
    o.industry.clear();
    set_list(
        &mut o.published_marketing_addresses,
        row.raw(Col::PublishedMarketingAddresses)?,
    );

    c.relationship = row
        .enumeration(Col::Relationship, pb::relationship::Value::from_str_name)?
        .map_or(0, |v| v as i32);

    let s = c.source.get_or_insert_with(Default::default);
    s.kind = row
        .enumeration(Col::SourceKind, pb::source_kind::Value::from_str_name)?
        .map_or(0, |v| v as i32);
    s.provider.clear();
    s.obtained_at = row.date(Col::SourceObtainedAt)?;
    s.informed_at_collection = row.bool(Col::SourceInformedAtCollection)?;
    s.art14_notice_sent_at = row.date(Col::Art14NoticeSentAt)?;
    s.restricted = row.bool(Col::SourceRestricted)?;

    let purchased_at = row.date(Col::PurchasedAt)?;
    let supplied = row.bool(Col::PurchaseAddressSuppliedByContact)?;
    let opt_out = row.bool(Col::PurchaseOptOutOffered)?;
    let mut n = 0;
    for category in row
        .raw(Col::PurchaseCategories)?
        .split([';', '|'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if n == c.purchases.len() {
            c.purchases.push(pb::Purchase::default());
        }
        let p = &mut c.purchases[n];
        set(&mut p.product_category, category);
        p.purchased_at = purchased_at;
        p.address_supplied_by_contact = supplied;
        p.opt_out_offered_at_collection = opt_out;
        n += 1;
    }
    c.purchases.truncate(n);

    if row.any_set(&[
        Col::ConsentBrand,
        Col::ConsentPurpose,
        Col::ConsentCapturedAt,
        Col::ConsentTextVersion,
        Col::ConsentCaptureSource,
        Col::ConsentWithdrawnAt,
    ])? {
        c.consents.truncate(1);
        if c.consents.is_empty() {
            c.consents.push(pb::Consent::default());
        }
        let k = &mut c.consents[0];
        set(&mut k.brand, row.raw(Col::ConsentBrand)?);
        set(&mut k.purpose, row.raw(Col::ConsentPurpose)?);
        // A CRM's consent columns are usually the email consent.
        k.channel = row
            .enumeration(Col::ConsentChannel, pb::channel::Value::from_str_name)?
            .unwrap_or(pb::channel::Value::Email) as i32;
        k.captured_at = row.date(Col::ConsentCapturedAt)?;
        set(&mut k.text_version, row.raw(Col::ConsentTextVersion)?);
        set(&mut k.capture_source, row.raw(Col::ConsentCaptureSource)?);
        k.double_opt_in_at = row.date(Col::ConsentDoubleOptInAt)?;
        k.withdrawn_at = row.date(Col::ConsentWithdrawnAt)?;
    } else {
        c.consents.clear();
    }

    if row.any_set(&[
        Col::SuppressionScope,
        Col::SuppressionBrand,
        Col::SuppressionPurpose,
        Col::SuppressionReason,
        Col::SuppressionAt,
    ])? {
        use pb::suppression_scope::Value as Scope;
        let brand = row.raw(Col::SuppressionBrand)?;
        let purpose = row.raw(Col::SuppressionPurpose)?;
        // No scope given: the narrowest one the row names, else everything.
        let scope = row
            .enumeration(Col::SuppressionScope, Scope::from_str_name)?
            .unwrap_or(if !brand.is_empty() {
                Scope::Brand
            } else if !purpose.is_empty() {
                Scope::Purpose
            } else {
                Scope::All
            });
        c.suppressions.truncate(1);
        if c.suppressions.is_empty() {
            c.suppressions.push(pb::Suppression::default());
        }
        let sp = &mut c.suppressions[0];
        sp.scope = scope as i32;
        set(&mut sp.brand, brand);
        set(&mut sp.purpose, purpose);
        sp.reason = row
            .enumeration(
                Col::SuppressionReason,
                pb::suppression_reason::Value::from_str_name,
            )?
            .map_or(0, |v| v as i32);
        sp.at = row.date(Col::SuppressionAt)?;
    } else {
        c.suppressions.clear();
    }

    c.last_verified_at = row.date(Col::LastVerifiedAt)?;
    set_list(&mut c.exclusion_lists, row.raw(Col::ExclusionLists)?);
    Ok(())
}

/// The canonical header line, for docs and the example generator check.
pub fn canonical_header() -> String {
    COLUMNS
        .iter()
        .map(|(_, n, _)| *n)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_one(header: &str, line: &str) -> Result<pb::Contact, RowError> {
        let data = format!("{header}\n{line}\n");
        let mut r = csv::ReaderBuilder::new().from_reader(data.as_bytes());
        let cols = Columns::from_header(r.byte_headers().unwrap()).unwrap();
        let mut rec = StringRecord::new();
        r.read_record(&mut rec).unwrap();
        contact(&rec, &cols)
    }

    #[test]
    fn dates_a_timestamp_cannot_hold_are_refused() {
        assert!(parse_date("+12345-01-01").is_err());
        assert!(parse_date("0000-12-31").is_err());
        assert!(parse_date("10000-01-01T00:00:00Z").is_err());
        assert!(parse_date("9999-12-31 23:59:59").unwrap().is_some());
        assert!(parse_date("0001-01-01").unwrap().is_some());
    }

    #[test]
    fn columns_are_in_enum_order() {
        for (i, (c, _, _)) in COLUMNS.iter().enumerate() {
            assert_eq!(*c as usize, i);
        }
    }

    #[test]
    fn header_names_are_forgiving() {
        let c = read_one(
            "Contact ID,E-mail,Job Title,Country,Company,Legal Form,Lead Source",
            "c1,jan@acme.nl,Hoofd ICT,NL,Acme B.V.,B.V.,data broker",
        )
        .unwrap();
        assert_eq!(c.contact_id, "c1");
        assert_eq!(c.email, "jan@acme.nl");
        assert_eq!(c.job_title, "Hoofd ICT");
        let o = c.organisation.unwrap();
        assert_eq!(o.legal_form, "B.V.");
        assert_eq!(o.name, "", "not read: no rule uses it");
        assert_eq!(
            c.source.unwrap().kind,
            pb::source_kind::Value::DataBroker as i32
        );
    }

    #[test]
    fn a_full_row() {
        let header = canonical_header();
        let line = "c-1001,3,Jan,Jansen,jan.jansen@acme.nl,Hoofd ICT,nl,NL,o-17,Acme B.V.,NL,BV,,acme.nl,120,62.01,info@acme.nl;sales@acme.nl,CUSTOMER,\
            DATA_BROKER,ListCo,2026-10-01,false,2026-10-05T00:00:00Z,no,2026-09-01,ES_ROBINSON,software.itsm;software.servicedesk,2025-03-01,yes,yes,\
            acme-sender,marketing.communications.email,,2026-01-10T09:00:00Z,v3,webform:/whitepaper/itsm,2026-01-10 09:05:00,,\
            ,,,OBJECTION,2026-06-01";
        let c = read_one(&header, line).unwrap();
        assert_eq!(c.version, 3);
        let o = c.organisation.as_ref().unwrap();
        assert_eq!(o.employee_count, 120);
        assert_eq!(
            o.published_marketing_addresses,
            ["info@acme.nl", "sales@acme.nl"]
        );
        assert_eq!(c.relationship, pb::relationship::Value::Customer as i32);
        assert_eq!(c.purchases.len(), 2);
        assert!(c.purchases[1].opt_out_offered_at_collection);
        assert_eq!(c.consents.len(), 1);
        assert_eq!(c.consents[0].channel, pb::channel::Value::Email as i32);
        assert!(c.consents[0].double_opt_in_at.is_some());
        assert_eq!(c.suppressions.len(), 1);
        assert_eq!(
            c.suppressions[0].scope,
            pb::suppression_scope::Value::All as i32
        );
        assert_eq!(c.exclusion_lists, ["ES_ROBINSON"]);
        assert!(c.last_verified_at.is_some());
    }

    #[test]
    fn bad_values_name_their_column() {
        let e = read_one("contact_id,last_verified_at", "c1,31/12/2025").unwrap_err();
        assert_eq!(e.contact_id, "c1");
        assert!(e.message.contains("last_verified_at"), "{}", e.message);
        let e = read_one("contact_id,relationship", "c1,FRIEND").unwrap_err();
        assert!(e.message.contains("relationship") && e.message.contains("FRIEND"));
        let e = read_one("contact_id,source_restricted", "c1,maybe").unwrap_err();
        assert!(e.message.contains("source_restricted"));
        let e = read_one("contact_id,employee_count", "c1,250+").unwrap_err();
        assert!(e.message.contains("employee_count"));
        let e = read_one("contact_id,email", ",jan@acme.nl").unwrap_err();
        assert!(e.message.contains("missing contact_id"));
    }

    #[test]
    fn reading_into_a_used_contact_leaves_nothing_behind() {
        let header = canonical_header();
        let full = "c-1001,3,Jan,Jansen,jan.jansen@acme.nl,Hoofd ICT,nl,NL,o-17,Acme B.V.,NL,BV,,acme.nl,120,62.01,info@acme.nl;sales@acme.nl,CUSTOMER,\
            DATA_BROKER,ListCo,2026-10-01,true,2026-10-05T00:00:00Z,yes,2026-09-01,ES_ROBINSON,software.itsm;software.servicedesk,2025-03-01,yes,yes,\
            acme-sender,marketing.communications.email,,2026-01-10T09:00:00Z,v3,webform:/x,2026-01-10 09:05:00,,\
            ,,,OBJECTION,2026-06-01";
        let sparse = format!("c-2{}", ",".repeat(header.matches(',').count()));
        let data = format!("{header}\n{full}\n{sparse}\n{full}\n");
        let mut r = csv::ReaderBuilder::new().from_reader(data.as_bytes());
        let cols = Columns::from_header(r.byte_headers().unwrap()).unwrap();
        let mut reused = pb::Contact::default();
        let mut rec = StringRecord::new();
        while r.read_record(&mut rec).unwrap() {
            contact_into(&rec, &cols, &mut reused).unwrap();
            assert_eq!(reused, contact(&rec, &cols).unwrap());
        }
    }

    #[test]
    fn header_without_contact_id_is_refused() {
        let mut r = csv::ReaderBuilder::new().from_reader("email,country\n".as_bytes());
        assert!(Columns::from_header(r.byte_headers().unwrap()).is_err());
    }

    #[test]
    fn suppression_scope_defaults_from_what_is_named() {
        let c = read_one(
            "contact_id,suppression_brand,suppression_at",
            "c1,northwind,2026-01-01",
        )
        .unwrap();
        assert_eq!(
            c.suppressions[0].scope,
            pb::suppression_scope::Value::Brand as i32
        );
    }
}
