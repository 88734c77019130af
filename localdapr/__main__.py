from localdapr.cli import main

raise SystemExit(main())
