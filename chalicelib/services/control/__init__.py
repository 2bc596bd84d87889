"""Use cases of virtual penal control, one module per concept: measures, calendar, enrolment, the check-in
pipeline, incidents and reports, contingency, officers' work and the notices people receive."""
