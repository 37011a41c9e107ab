"""Pages a person opens in a browser: one per run, per comparison, per reproduction or sweep.

Each page is one HTML file: its pictures embedded, its style and script (``assets/``) inlined, nothing
fetched from a network; it reads on a phone, and every picture has alt text. Pages are read from run
directories only, never from the trainer, and written atomically.

    runpage.write_run_report(DIR)                          DIR/report.html: everything the run holds
    comparison.write_comparison_report([DIR, ...], FILE)   several runs side by side
    study.write_study_report(FOLDER, markdown, figures)    a reproduction's or sweep's table, checks, figures
    live.refresh_run_report(DIR, final=False)              the trainer's hook: the run page during training
    serve.serve(render, port)                              a page on localhost (`genlab report --serve`)
    tensorboard.write_tensorboard(DIR)                     DIR/tensorboard/ event files (optional extra)

This file imports nothing: the trainer imports ``live``, and what ``live`` reaches (the run page) must not
reach back to the trainer (``comparison`` reads evaluations through ``genlab.compare``, so it stays apart).
"""
