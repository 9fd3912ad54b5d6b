"""``python -m polo_fast`` runs the ``polo-fast`` command."""

from polo_fast.cli import main

raise SystemExit(main())
