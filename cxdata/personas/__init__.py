"""Data-driven personas: per-customer features in the engine (`features`), the persona
finder, a scikit-learn estimator (`estimator`), profiles a person recognises (`profiles`),
finding and storing a model (`discovery`), and stored models, including the latest one
that every analysis uses (`models`). Import the module you need: `models` stays light,
the others load scikit-learn."""
