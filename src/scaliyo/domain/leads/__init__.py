"""Leads: the lead model, its normalisation and identity, the pipeline, the ideal customer
profile and explainable scoring. Pure rules; persistence and HTTP live in outer layers."""
