#!/usr/bin/env python3
"""Generate the built-in example: a CRM export and three campaigns.

    scripts/gen-examples.py            # writes examples/ (deterministic, seeded)

The export looks like what a Dutch B2B software/services company's CRM gives:
Dutch-heavy, the 13 covered countries plus a few others, a mix of sources,
relationships, legal forms and titles in nl/en/de/fr, consents, suppressions
and purchases. Every person, company and domain is invented; organisation
domains use the reserved `.example` top-level domain, and webmail addresses
carry a `.demo` marker, so no address in it belongs to anyone.

The same contacts are written twice: flat CSV (the columns of
docs/evaluate.md) and NDJSON (the contract's Contact JSON).
"""
import csv
import json
import os
import random
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "examples")
rng = random.Random(20261201)

EXPORT_DATE = "2026-11-30"

FIRST = {
    "nl": ["Jan", "Sanne", "Pieter", "Femke", "Bram", "Lotte", "Daan", "Anouk", "Joost", "Marieke",
           "Ruben", "Eline", "Thijs", "Noor", "Wouter", "Iris", "Koen", "Esther", "Bas", "Sophie"],
    "be": ["Wout", "Lien", "Pieter-Jan", "Elke", "Thomas", "Charlotte", "Maxime", "Julie", "Arne", "Hanne"],
    "de": ["Lukas", "Anna", "Jonas", "Lena", "Felix", "Katrin", "Matthias", "Sabine", "Tobias", "Julia"],
    "fr": ["Camille", "Julien", "Claire", "Nicolas", "Élodie", "Mathieu", "Sophie", "Antoine", "Manon", "Hugo"],
    "en": ["James", "Olivia", "Oliver", "Emily", "Harry", "Charlotte", "George", "Amelia", "Jack", "Grace"],
    "ie": ["Aoife", "Cian", "Niamh", "Seán", "Siobhán", "Darragh", "Ciara", "Eoin"],
    "es": ["Lucía", "Javier", "Marta", "Pablo", "Carmen", "Álvaro"],
    "it": ["Giulia", "Marco", "Chiara", "Luca", "Francesca", "Matteo"],
    "at": ["Florian", "Theresa", "Stefan", "Magdalena", "Georg"],
    "dk": ["Mads", "Ida", "Frederik", "Sofie", "Rasmus"],
    "se": ["Erik", "Linnea", "Oskar", "Elin", "Johan"],
    "pl": ["Piotr", "Katarzyna", "Tomasz", "Agnieszka", "Michał"],
    "us": ["Michael", "Jennifer", "David", "Ashley", "Christopher", "Jessica"],
    "lu": ["Luc", "Nathalie", "Gilles"], "ch": ["Reto", "Barbara", "Urs"], "no": ["Ola", "Ingrid"],
}
LAST = {
    "nl": ["de Vries", "Jansen", "van den Berg", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder",
           "de Groot", "Bos", "Vos", "Peters", "Hendriks", "van Dijk", "Dekker", "Brouwer", "van Leeuwen"],
    "be": ["Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Dubois", "Lambert"],
    "de": ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Hoffmann"],
    "fr": ["Martin", "Bernard", "Durand", "Lefebvre", "Moreau", "Laurent", "Girard", "Roux", "Fournier"],
    "en": ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans", "Thomas", "Roberts"],
    "ie": ["Murphy", "Kelly", "O'Sullivan", "Walsh", "Byrne", "Ryan", "O'Brien"],
    "es": ["García", "Martínez", "López", "Sánchez", "Fernández"],
    "it": ["Rossi", "Russo", "Ferrari", "Esposito", "Bianchi"],
    "at": ["Gruber", "Huber", "Bauer", "Pichler", "Moser"],
    "dk": ["Nielsen", "Jensen", "Hansen", "Pedersen", "Andersen"],
    "se": ["Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson"],
    "pl": ["Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kamińska"],
    "us": ["Johnson", "Miller", "Davis", "Garcia", "Rodriguez", "Martinez"],
    "lu": ["Schmit", "Muller", "Weber"], "ch": ["Meier", "Keller", "Brunner"], "no": ["Hansen", "Johansen"],
}

# country: (people key, title language, [(legal form, weight)], org name stems, count)
COUNTRIES = [
    ("NL", "nl", "nl", [("BV", 8), ("B.V.", 3), ("NV", 1), ("Stichting", 1), ("VOF", 1), ("eenmanszaak", 1), ("ZZP", 1), ("", 1)],
     ["Brinkhorst Logistiek", "Zuidas Advies", "Kempen Zorggroep", "Waterland ICT", "De Wit Installatietechniek",
      "Hofstad Vastgoed", "Noordster Software", "Van Wijk Bouw", "Lindeboom Facilitair", "Rijnmond Transport",
      "Veluwe Hotels", "Polder Energie", "Amstel Accountants", "Maasdelta Groep", "Twente Precisie"], 92),
    ("BE", "be", "nl", [("NV", 3), ("BV", 3), ("SRL", 2), ("VZW", 1), ("CommV", 1), ("eenmanszaak", 1), ("", 1)],
     ["Schelde Logistics", "Brabo Consult", "Leiedal Foods", "Ardennes Services", "Kortrijk Textiel", "Mechelen Medical"], 24),
    ("DE", "de", "de", [("GmbH", 6), ("AG", 1), ("GmbH & Co. KG", 2), ("e.K.", 1), ("UG (haftungsbeschränkt)", 1)],
     ["Rheinwerk Systeme", "Hanse Logistik", "Isar Medizintechnik", "Spree Digital", "Schwarzwald Präzision"], 20),
    ("FR", "fr", "fr", [("SAS", 5), ("SA", 1), ("SARL", 2), ("EI", 1), ("SNC", 1)],
     ["Rhône Industrie", "Atlantique Services", "Lumière Conseil", "Provence Santé", "Loire Numérique"], 18),
    ("GB", "en", "en", [("Ltd", 6), ("plc", 1), ("LLP", 1), ("Partnership", 1), ("Sole trader", 1)],
     ["Thames Analytics", "Pennine Engineering", "Harbour Health", "Cotswold Foods", "Mersey Freight"], 15),
    ("IE", "ie", "en", [("Ltd", 5), ("DAC", 1), ("Sole trader", 1)],
     ["Liffey Software", "Shannon Medical", "Connacht Build"], 10),
    ("ES", "es", "en", [("S.L.", 3), ("S.A.", 1)], ["Ibérica Logística", "Levante Tech"], 8),
    ("IT", "it", "en", [("S.r.l.", 3), ("S.p.A.", 1)], ["Lombarda Automazione", "Tirreno Servizi"], 8),
    ("AT", "at", "de", [("GmbH", 3), ("e.U.", 1)], ["Donau Systeme", "Alpen Facility"], 7),
    ("DK", "dk", "en", [("A/S", 2), ("ApS", 2)], ["Øresund Data", "Jylland Service"], 6),
    ("SE", "se", "en", [("AB", 3), ("enskild firma", 1)], ["Norrland IT", "Mälaren Drift"], 6),
    ("PL", "pl", "en", [("sp. z o.o.", 3), ("S.A.", 1)], ["Wisła Systemy", "Bałtyk Serwis"], 6),
    ("US", "us", "en", [("Inc.", 3), ("LLC", 2), ("Corp.", 1)], ["Lakeshore Health", "Cascade Robotics", "Bluegrass Logistics"], 8),
    ("LU", "lu", "fr", [("SARL", 1), ("SA", 1)], ["Moselle Finance"], 3),
    ("CH", "ch", "de", [("AG", 1), ("GmbH", 1)], ["Limmat Software"], 3),
    ("NO", "no", "en", [("AS", 1)], ["Fjord Energi"], 2),
]

# (title, function for the ITSM/FM/HR picture) in each language; the classifier decides for real.
TITLES = {
    "nl": ["Hoofd ICT", "IT-manager", "Manager ICT", "Teamleider Servicedesk", "Servicedesk medewerker",
           "Applicatiebeheerder", "Senior systeembeheerder", "ICT-coördinator", "CIO", "Directeur",
           "Algemeen directeur", "Directeur-eigenaar", "DGA", "Financieel directeur", "Hoofd Financiën",
           "Controller", "Inkoper", "Senior inkoper", "Manager Inkoop", "Facilitair manager",
           "Medewerker facilitaire dienst", "Officemanager", "Receptioniste", "Secretaresse",
           "HR-manager", "HR-adviseur", "Salarisadministrateur", "Marketingcoördinator",
           "Salesmanager", "Accountmanager", "Teamleider klantcontact", "Medewerker klantenservice",
           "Stagiair marketing", "Manager Bedrijfsvoering", "Adjunct-directeur", "Eigenaar",
           "Operationeel manager", "Projectleider", ""],
    "en": ["IT Director", "Head of IT", "IT Manager", "CIO", "CTO", "CFO", "Finance Director",
           "Financial Controller", "Procurement Manager", "Senior Buyer", "Service Desk Analyst",
           "Service Desk Team Lead", "Systems Administrator", "Office Manager", "Facilities Manager",
           "HR Business Partner", "Head of People", "Payroll Manager", "Founder & CEO", "Managing Director",
           "Marketing Executive", "VP Information Technology", "Customer Service Manager",
           "Operations Manager", "Sales Director", "Executive Assistant", "Owner", ""],
    "de": ["Geschäftsführer", "Geschäftsführerin", "Leiter IT", "IT-Leiterin", "Einkaufsleiter",
           "Sachbearbeiterin Buchhaltung", "Teamleiter Service Desk (m/w/d)", "Personalleiterin",
           "Facility Manager", "Kaufmännische Leiterin", "Inhaber", "Systemadministrator",
           "Leiterin Finanzen", "Assistenz der Geschäftsführung"],
    "fr": ["DSI", "Directeur financier", "DAF", "Responsable des services généraux", "Acheteur",
           "Chargée de communication", "DRH", "Gérant", "Responsable informatique", "Technicien support",
           "Assistante de direction", "Directrice générale", "Responsable paie", "Contrôleur de gestion"],
}

SOURCES = [("BUSINESS_CARD", 14), ("FIRST_PARTY_FORM", 10), ("WHITEPAPER_DOWNLOAD", 10), ("NEWSLETTER_SIGNUP", 5),
           ("EVENT_LIST", 10), ("DATA_BROKER", 9), ("ENRICHMENT_VENDOR", 8), ("CUSTOMER_CONTRACT", 12),
           ("PARTNER_REFERRAL", 5), ("MANUAL", 6), ("SCRAPED", 2), ("PRIOR_EMPLOYER_NETWORK", 2)]
PROVIDERS = {"DATA_BROKER": ["ListHouse", "B2B Data Partners"], "ENRICHMENT_VENDOR": ["EnrichIQ", "Profilio"],
             "EVENT_LIST": ["ITSM Summit Utrecht 2026", "Facility Expo Brussel", "HR Tech Live London"],
             "PARTNER_REFERRAL": ["Reseller Noord", "Partner Benelux"], "SCRAPED": ["web"],
             "PRIOR_EMPLOYER_NETWORK": ["previous employer"]}
RELATIONSHIPS = [("PROSPECT", 50), ("LEAD", 15), ("CUSTOMER", 22), ("EX_CUSTOMER", 6), ("PARTNER", 7)]
CATEGORIES = [("software.itsm", 5), ("software.servicedesk", 2), ("services.cleaning", 3), ("services.facility", 2),
              ("software.hr.payroll", 3), ("software.hr", 1), ("hardware.laptops", 2)]
BRANDS = ["northwind", "cleanco", "paywise"]
ROLE_LOCALS = ["info", "sales", "contact", "office", "inkoop", "administratie", "marketing", "kontakt", "accueil",
               "hello", "support", "zentrale", "facturen", "hr", "achats", "receptie"]
WEBMAIL = {"NL": ["hotmail.nl", "ziggo.nl", "kpnmail.nl", "gmail.com", "live.nl"], "BE": ["telenet.be", "skynet.be", "gmail.com"],
           "DE": ["gmx.de", "web.de", "t-online.de"], "FR": ["orange.fr", "free.fr", "laposte.net"],
           "default": ["gmail.com", "outlook.com", "yahoo.com"]}


def pick(weighted):
    items, weights = zip(*weighted)
    return rng.choices(items, weights=weights)[0]


def slug(s):
    import unicodedata
    s = s.lower().replace("ß", "ss").replace("ø", "o").replace("ł", "l").replace("æ", "ae")
    s = "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))
    out = "".join(c if c.isalnum() else "-" for c in s)
    while "--" in out:
        out = out.replace("--", "-")
    return out.strip("-")


def day(y, m, d):
    return f"{y:04d}-{m:02d}-{d:02d}"


def rand_date(start_year, end="2026-11-28"):
    """A date between 1 Jan start_year and `end`."""
    ey, em, ed = map(int, end.split("-"))
    while True:
        y = rng.randint(start_year, ey)
        m = rng.randint(1, 12)
        d = rng.randint(1, 28)
        if (y, m, d) <= (ey, em, ed):
            return day(y, m, d)


def ts(d):
    return f"{d}T00:00:00Z" if d else ""


def main():
    orgs = {}
    contacts = []
    n = 0
    for cc, people, tlang, forms, stems, count in COUNTRIES:
        org_list = []
        for i, stem in enumerate(stems):
            form = pick(forms)
            domain = slug(stem) + ".example"
            emp = rng.choice([4, 9, 12, 18, 35, 48, 60, 85, 120, 180, 250, 400, 750, 1200, 3000, 0])
            published = []
            if cc == "NL" and rng.random() < 0.35:
                published = [rng.choice(["info", "marketing", "sales", "inkoop"]) + "@" + domain]
            org = {"organisationId": f"o-{cc.lower()}-{i + 1:03d}", "name": f"{stem} {form}".strip(), "country": cc,
                   "legalForm": form, "domain": domain, "employeeCount": emp,
                   "industry": rng.choice(["62.01", "49.41", "86.10", "43.21", "68.20", "69.20", "81.21", "10.89", "28.99"]),
                   "publishedMarketingAddresses": published}
            orgs[org["organisationId"]] = org
            org_list.append(org)
        for _ in range(count):
            n += 1
            org = rng.choice(org_list)
            first = rng.choice(FIRST[people])
            last = rng.choice(LAST[people])
            lang = tlang if rng.random() < 0.8 or tlang == "en" else "en"
            title = rng.choice(TITLES[lang])
            local_person = slug(first).replace("-", "") + "." + slug(last).replace("-", "")
            r = rng.random()
            if org["publishedMarketingAddresses"] and r < 0.15:
                email = org["publishedMarketingAddresses"][0]
            elif r < 0.22:
                email = rng.choice(ROLE_LOCALS) + "@" + org["domain"]
            elif r < 0.29:
                email = f"{local_person}.demo@" + rng.choice(WEBMAIL.get(cc, WEBMAIL["default"]))
            elif r < 0.30:
                email = f"{local_person}@{org['domain']}".replace("@", " at ")  # a typo in the CRM
            else:
                email = f"{local_person}@{org['domain']}"
            rel = pick(RELATIONSHIPS)
            src = "CUSTOMER_CONTRACT" if rel in ("CUSTOMER", "EX_CUSTOMER") and rng.random() < 0.6 else pick(SOURCES)
            obtained = rand_date(2022)
            if src in ("DATA_BROKER", "ENRICHMENT_VENDOR", "EVENT_LIST") and rng.random() < 0.3:
                obtained = rand_date(2026, "2026-11-28") if rng.random() < 0.5 else day(2026, 11, rng.randint(3, 28))
            verified = "" if rng.random() < 0.1 else max(obtained, rand_date(2023 if rng.random() < 0.12 else 2025))
            art14 = ""
            if src in ("DATA_BROKER", "ENRICHMENT_VENDOR", "EVENT_LIST", "PARTNER_REFERRAL") and rng.random() < 0.55:
                art14 = min("2026-11-29", obtained[:8] + "%02d" % min(28, int(obtained[8:]) + 3))
            informed = src in ("FIRST_PARTY_FORM", "WHITEPAPER_DOWNLOAD", "NEWSLETTER_SIGNUP", "BUSINESS_CARD",
                               "CUSTOMER_CONTRACT") or rng.random() < 0.3
            purchases = []
            if rel in ("CUSTOMER", "EX_CUSTOMER"):
                for _ in range(rng.choice([1, 1, 2])):
                    purchases.append({"productCategory": pick(CATEGORIES),
                                      "purchasedAt": ts(rand_date(2023 if rel == "EX_CUSTOMER" else 2024)),
                                      "addressSuppliedByContact": rng.random() < 0.8,
                                      "optOutOfferedAtCollection": rng.random() < 0.85})
            consents = []
            if rng.random() < 0.16:
                captured = rand_date(2024)
                c = {"brand": rng.choice(BRANDS), "purpose": "marketing.communications.email", "channel": "EMAIL",
                     "capturedAt": ts(captured) + "", "textVersion": rng.choice(["v2", "v3", "v3", ""]),
                     "captureSource": rng.choice(["webform:/whitepaper/itsm", "webform:/newsletter", "event:booth-scan", ""]),
                     "doubleOptInAt": ts(captured) if rng.random() < 0.7 else "", "withdrawnAt": ""}
                if rng.random() < 0.15:
                    c["withdrawnAt"] = ts(rand_date(int(captured[:4]) if captured < "2026" else 2026))
                    if c["withdrawnAt"] < c["capturedAt"]:
                        c["withdrawnAt"] = ""
                consents.append(c)
            suppressions = []
            if rng.random() < 0.06:
                scope = pick([("ALL", 3), ("BRAND", 2), ("PURPOSE", 1)])
                suppressions.append({"scope": scope, "brand": rng.choice(BRANDS) if scope == "BRAND" else "",
                                     "purpose": "marketing.communications.email" if scope == "PURPOSE" else "",
                                     "reason": pick([("UNSUBSCRIBE", 4), ("OBJECTION", 2), ("COMPLAINT", 1), ("ERASURE", 1)]),
                                     "at": ts(rand_date(2024))})
            exclusion = []
            if cc == "ES" and rng.random() < 0.35:
                exclusion.append("ES_ROBINSON")
            if cc == "AT" and rng.random() < 0.35:
                exclusion.append("AT_ECG")
            country = cc if rng.random() < 0.9 else ""  # some records only carry the company's country
            if n in (17, 151):
                country, org = "", dict(org, country="")  # nobody filled in a country
            contacts.append({
                "contactId": f"c-{100000 + n}", "version": str(rng.randint(1, 9)),
                "firstName": first, "lastName": last, "email": email, "jobTitle": title,
                "language": lang if title else "", "country": country,
                "organisation": org, "relationship": rel, "purchases": purchases,
                "source": {"kind": src, "provider": rng.choice(PROVIDERS.get(src, [""])),
                           "obtainedAt": ts(obtained), "informedAtCollection": informed,
                           "art14NoticeSentAt": ts(art14), "restricted": src == "SCRAPED" and rng.random() < 0.5},
                "consents": consents, "suppressions": suppressions,
                "lastVerifiedAt": ts(verified), "exclusionLists": exclusion,
            })
    rng.shuffle(contacts)
    # Dutch first, as a Dutch CRM sorts by account owner region.
    contacts.sort(key=lambda c: 0 if (c["country"] or c["organisation"]["country"]) == "NL" else 1)

    os.makedirs(os.path.join(OUT, "campaigns"), exist_ok=True)
    header = ["contact_id", "version", "first_name", "last_name", "email", "job_title", "language", "country",
              "organisation_id", "organisation_name", "organisation_country", "legal_form", "entity_type",
              "organisation_domain", "employee_count", "industry", "published_marketing_addresses", "relationship",
              "source_kind", "source_provider", "source_obtained_at", "source_informed_at_collection",
              "art14_notice_sent_at", "source_restricted", "last_verified_at", "exclusion_lists",
              "purchase_categories", "purchased_at", "purchase_address_supplied_by_contact",
              "purchase_opt_out_offered", "consent_brand", "consent_purpose", "consent_channel",
              "consent_captured_at", "consent_text_version", "consent_capture_source", "consent_double_opt_in_at",
              "consent_withdrawn_at", "suppression_scope", "suppression_brand", "suppression_purpose",
              "suppression_reason", "suppression_at"]
    d10 = lambda s: s[:10]
    with open(os.path.join(OUT, "crm-export.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for c in contacts:
            o, s = c["organisation"], c["source"]
            # One purchase date fits a CSV row: the latest, with all its categories.
            p = sorted(c["purchases"], key=lambda p: p["purchasedAt"])[-1:] if c["purchases"] else []
            cats = ";".join(x["productCategory"] for x in c["purchases"] if p and x["purchasedAt"] == p[0]["purchasedAt"])
            k = c["consents"][0] if c["consents"] else {}
            sp = c["suppressions"][0] if c["suppressions"] else {}
            yn = lambda b: "yes" if b else "no"
            w.writerow([c["contactId"], c["version"], c["firstName"], c["lastName"], c["email"], c["jobTitle"],
                        c["language"], c["country"], o["organisationId"], o["name"], o["country"], o["legalForm"], "",
                        o["domain"], o["employeeCount"] or "", o["industry"], ";".join(o["publishedMarketingAddresses"]),
                        c["relationship"], s["kind"], s["provider"], d10(s["obtainedAt"]), yn(s["informedAtCollection"]),
                        d10(s["art14NoticeSentAt"]), yn(s["restricted"]), d10(c["lastVerifiedAt"]),
                        ";".join(c["exclusionLists"]), cats, d10(p[0]["purchasedAt"]) if p else "",
                        yn(p[0]["addressSuppliedByContact"]) if p else "", yn(p[0]["optOutOfferedAtCollection"]) if p else "",
                        k.get("brand", ""), k.get("purpose", ""), k.get("channel", ""), k.get("capturedAt", ""),
                        k.get("textVersion", ""), k.get("captureSource", ""), k.get("doubleOptInAt", ""),
                        k.get("withdrawnAt", ""), sp.get("scope", ""), sp.get("brand", ""), sp.get("purpose", ""),
                        sp.get("reason", ""), d10(sp.get("at", ""))])
    with open(os.path.join(OUT, "crm-export.ndjson"), "w", encoding="utf-8") as f:
        for c in contacts:
            # Proto3 JSON: "" timestamps are "not set"; drop them and empty lists.
            def clean(v):
                if isinstance(v, dict):
                    return {k: clean(x) for k, x in v.items() if x not in ("", [], None)}
                if isinstance(v, list):
                    return [clean(x) for x in v]
                return v
            f.write(json.dumps(clean(c), ensure_ascii=False) + "\n")

    profile = lambda owning, users, roles: {"owningFunctions": owning, "userFunctions": users,
                                             "budgetFunctions": ["finance"], "targetRoles": roles}
    campaigns = {
        "itsm-launch.json": {
            "campaignId": "cmp-itsm-2027q1", "version": "3", "name": "Northwind Service Desk launch Q1 2027",
            "brand": "northwind", "senderCountry": "NL", "purpose": "marketing.communications.email",
            "channel": "EMAIL", "productCategory": "software.itsm",
            "similarProductCategories": ["software.itsm", "software.servicedesk"],
            "dmuProfile": profile(["it"], ["customer_service"], ["DECIDER", "INFLUENCER"]),
            "targetCountries": [], "targetOrganisationIds": [],
            "legitimateInterestAssessmentRef": "LIA-2026-07", "scheduledAt": "2027-01-15T09:00:00Z"},
        "facility-services.json": {
            "campaignId": "cmp-cleanco-benelux", "version": "1", "name": "CleanCo office cleaning Benelux",
            "brand": "cleanco", "senderCountry": "BE", "purpose": "marketing.communications.email",
            "channel": "EMAIL", "productCategory": "services.cleaning",
            "similarProductCategories": ["services.cleaning", "services.facility"],
            "dmuProfile": profile(["facilities"], ["administration"], ["DECIDER", "BUYER", "APPROVER"]),
            "targetCountries": ["NL", "BE"], "targetOrganisationIds": [],
            "legitimateInterestAssessmentRef": "LIA-FM-3", "scheduledAt": "2027-02-01T09:00:00Z"},
        "hr-payroll.json": {
            "campaignId": "cmp-paywise-payroll", "version": "2", "name": "Paywise payroll for SMEs",
            "brand": "paywise", "senderCountry": "NL", "purpose": "marketing.communications.email",
            "channel": "EMAIL", "productCategory": "software.hr.payroll",
            "similarProductCategories": ["software.hr.payroll", "software.hr"],
            "dmuProfile": profile(["hr"], ["finance"], ["DECIDER", "APPROVER", "INFLUENCER"]),
            "targetCountries": ["NL", "BE", "DE", "GB", "IE"], "targetOrganisationIds": [],
            "legitimateInterestAssessmentRef": "", "scheduledAt": "2027-03-01T09:00:00Z"},
    }
    for name, c in campaigns.items():
        with open(os.path.join(OUT, "campaigns", name), "w", encoding="utf-8") as f:
            json.dump(c, f, indent=2, ensure_ascii=False)
            f.write("\n")
    print(f"wrote {len(contacts)} contacts and {len(campaigns)} campaigns to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
