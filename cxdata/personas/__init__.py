"""Data-driven personas: per-customer features in the engine (`features`), the persona
finder, a scikit-learn estimator (`estimator`), profiles a person recognises (`profiles`),
finding and storing a model (`discovery`), and stored models, including the latest one
that every analysis uses (`models`). Import the module you need: `models` stays light,
the others load scikit-learn."""

MAX_FIT_CUSTOMERS = 50_000
"""Personas are fitted on at most this many customers, a seeded sample drawn in the engine
(`cxdata.analysis.sampling.seeded_sample`); every customer is then assigned in the engine by
the fitted rule (`assign`). With fewer customers the sample is everyone: small data gives
exactly the personas it always gave. (Here, so the CLI shows it without scikit-learn.)"""
