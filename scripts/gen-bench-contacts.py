#!/usr/bin/env python3
"""Write N generated contacts as the flat CSV of `dmumatch evaluate` to stdout.

    scripts/gen-bench-contacts.py 1000000 > /tmp/contacts-1m.csv

Rows vary the way a real export does (13 covered countries plus others,
legal forms, generic/personal/webmail addresses, titles in four languages,
sources, relationships, purchases, consents, suppressions, dates around the
benchmark's asOf of 2026-12-01), so every rule path is exercised. Seeded:
the same N gives the same file.
"""
import csv
import random
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
rng = random.Random(42)
COUNTRIES = ["NL"] * 8 + ["BE"] * 3 + ["DE"] * 3 + ["FR"] * 2 + ["GB"] * 2 + \
    ["IE", "ES", "IT", "AT", "DK", "SE", "PL", "US", "US", "LU", "CH", ""]
FORMS = {"NL": ["BV", "B.V.", "NV", "eenmanszaak", "VOF", ""], "BE": ["NV", "BV", "SRL", "VZW"],
         "DE": ["GmbH", "AG", "GmbH & Co. KG", "e.K."], "FR": ["SAS", "SARL", "SA", "EI"],
         "GB": ["Ltd", "plc", "LLP", "Partnership"], "IE": ["Ltd", "DAC"], "ES": ["S.L."], "IT": ["S.r.l."],
         "AT": ["GmbH"], "DK": ["A/S", "ApS"], "SE": ["AB"], "PL": ["sp. z o.o."], "US": ["Inc.", "LLC"],
         "LU": ["SARL"], "CH": ["AG"], "": ["", "BV"]}
TITLES = ["Hoofd ICT", "IT-manager", "Teamleider Servicedesk", "Directeur", "Inkoper", "Officemanager",
          "Financieel directeur", "Medewerker klantenservice", "IT Director", "Head of IT", "CFO",
          "Procurement Manager", "Service Desk Analyst", "Founder & CEO", "Marketing Executive",
          "Geschäftsführer", "Leiter IT", "Einkaufsleiter", "Teamleiter Service Desk (m/w/d)", "DSI",
          "Directeur financier", "Responsable des services généraux", "Acheteur", "Chargée de communication", ""]
LOCALS = ["jan.de.vries", "s.bakker", "pieter", "info", "sales", "contact", "kontakt", "office", "m.jansen+crm"]
WEBMAIL = ["gmail.com", "hotmail.nl", "ziggo.nl", "gmx.de", "orange.fr"]
SOURCES = ["BUSINESS_CARD", "FIRST_PARTY_FORM", "WHITEPAPER_DOWNLOAD", "EVENT_LIST", "DATA_BROKER",
           "ENRICHMENT_VENDOR", "CUSTOMER_CONTRACT", "PARTNER_REFERRAL", "MANUAL", "SCRAPED", "NEWSLETTER_SIGNUP"]
RELS = ["PROSPECT"] * 5 + ["LEAD", "CUSTOMER", "CUSTOMER", "EX_CUSTOMER", "PARTNER"]
CATS = ["software.itsm", "software.servicedesk", "services.cleaning", "hardware.laptops"]


def date(lo=2022, hi=2026):
    return f"{rng.randint(lo, hi)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


w = csv.writer(sys.stdout, lineterminator="\n")
w.writerow(["contact_id", "version", "first_name", "last_name", "email", "job_title", "language", "country",
            "organisation_id", "organisation_name", "organisation_country", "legal_form", "organisation_domain",
            "employee_count", "relationship", "source_kind", "source_provider", "source_obtained_at",
            "source_informed_at_collection", "art14_notice_sent_at", "source_restricted", "last_verified_at",
            "exclusion_lists", "purchase_categories", "purchased_at", "purchase_address_supplied_by_contact",
            "purchase_opt_out_offered", "consent_brand", "consent_purpose", "consent_captured_at",
            "consent_text_version", "consent_capture_source", "consent_double_opt_in_at", "consent_withdrawn_at",
            "suppression_scope", "suppression_reason", "suppression_at"])
for i in range(n):
    cc = rng.choice(COUNTRIES)
    org = rng.randrange(50_000)
    domain = f"org{org}.example"
    r = rng.random()
    email = (f"{rng.choice(LOCALS)}@{domain}" if r < 0.9 else
             f"{rng.choice(LOCALS)}.demo@{rng.choice(WEBMAIL)}" if r < 0.98 else "broken.address")
    title = rng.choice(TITLES)
    rel = rng.choice(RELS)
    customer = rel in ("CUSTOMER", "EX_CUSTOMER")
    consent = rng.random() < 0.1
    supp = rng.random() < 0.04
    captured = date(2024)
    w.writerow([
        f"c-{i:07d}", rng.randint(1, 9), "Jan", "Jansen", email, title,
        rng.choice(["nl", "en", "de", "fr", ""]) if title else "", cc if rng.random() < 0.9 else "",
        f"o-{org}", f"Org {org}", cc, rng.choice(FORMS[cc]), domain, rng.choice([0, 8, 40, 120, 800, 5000]),
        rel, rng.choice(SOURCES), "", date(2023), rng.choice(["yes", "no"]),
        date() if rng.random() < 0.3 else "", "yes" if rng.random() < 0.01 else "no",
        date(2025) if rng.random() < 0.85 else "",
        rng.choice(["", "", "", "ES_ROBINSON", "AT_ECG"]),
        rng.choice(CATS) if customer else "", date(2024) if customer else "",
        "yes" if customer and rng.random() < 0.8 else "", "yes" if customer and rng.random() < 0.8 else "",
        "northwind" if consent else "", "marketing.communications.email" if consent else "",
        captured if consent else "", "v3" if consent and rng.random() < 0.8 else "",
        "webform:/x" if consent else "", captured if consent and rng.random() < 0.7 else "",
        date(2025) if consent and rng.random() < 0.1 else "",
        "ALL" if supp else "", "UNSUBSCRIBE" if supp else "", date(2024) if supp else "",
    ])
