"""The dashboard: a streamlit page over the model (`northroute dashboard`) and the `northroute report` command.

Modules: `app` (the page script), `levers` (scenario levers and uploads), `sections` (what the results
pages show, from the metric list), `runs` (runs folder, path confinement and the run manager), `worker`
(the child process that runs the model), `commands` (the CLI commands). Importing this package imports
neither streamlit nor the model, so the CLI stays quick to start.
"""
