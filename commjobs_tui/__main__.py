from commjobs_tui.cli import main

raise SystemExit(main())
