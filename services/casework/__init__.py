"""The companions' casework (Begleitung): caseload, internships, company directory, meetings and contacts."""
