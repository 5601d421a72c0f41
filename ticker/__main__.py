from ticker.run.cli import main

raise SystemExit(main())
