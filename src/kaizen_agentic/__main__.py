from __future__ import annotations

from kaizen_agentic.main import main

raise SystemExit(main())
