"""tamrin: a hands-on deep-learning lab. Every course exercise is a tested experiment that writes a report.

The Python API (what each report.ipynb's first cell calls):

    import tamrin
    run_dir = tamrin.run("digits-mlp", quick=True, set={"train.lr": 3e-3})   # -> Path of the new run folder
    run_dir = tamrin.run("hw4", quick=True, student="Ada Lovelace", student_id="42")   # an assignment bundle
"""

__version__ = "0.1.0"


def run(name: str, quick: bool = False, set: dict | None = None, config: dict | None = None, seed: int | None = None,  # noqa: A002
        out: str = "runs", pdf: bool = True, student: str | None = None, student_id: str | None = None, data_dir: str | None = None):
    """Run an experiment (or an assignment bundle: hw2, hw4, p4, solA, solB, all) like `tamrin run`, and return its folder.

    config: a whole resolved configuration (e.g. a run folder's config.yaml, as a dict) applied over the defaults;
    set: overrides {"key.sub": value} applied after it; the same checks as on the command line."""
    from pathlib import Path

    from tamrin import course, registry
    from tamrin.config import apply_overrides
    from tamrin.experiment_runner import run_all, run_experiment
    from tamrin.student import resolve

    who = resolve(student, student_id)
    overrides = dict(config or {})

    def cfg_for(exp):
        cfg = apply_overrides(exp.default_config(quick=quick), {})
        if overrides:
            cfg = apply_overrides(cfg, overrides)
        if set:
            cfg = apply_overrides(cfg, [f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in set.items()])
        if seed is not None:
            cfg = apply_overrides(cfg, {"seed": seed})
        if data_dir is not None:
            cfg = apply_overrides(cfg, {"data_dir": data_dir})
        return cfg

    if name == "all" or name in course.ASSIGNMENTS:
        from tamrin.bundle import bundle_assignments, bundle_experiments

        assignments = bundle_assignments(name)
        exps = [registry.get(n) for n in bundle_experiments(assignments)[0]]
        parent, _ = run_all(exps, {e.name: cfg_for(e) for e in exps}, Path(out), pdf=pdf, quick=quick, student=who,
                            assignments=assignments, name=name)
        return parent
    exp = registry.get(name)
    return run_experiment(exp, cfg_for(exp), Path(out), pdf=pdf, preset="quick" if quick else None, student=who)
