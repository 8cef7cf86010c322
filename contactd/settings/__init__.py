"""Settings: config/contactd.toml and case_types.toml, overridden by CONTACTD_* variables.

Everything is validated at start. A bad value raises ConfigError, whose message names the
file (or variable), the key, the value and what is allowed; the CLI turns it into exit 2.
Secrets (the database URL) come only from the environment.
"""

from __future__ import annotations

from contactd.settings.agency import (
    Agency,
    CalendarConfig,
    CaseTypeConfig,
    GoalConfig,
    QueueConfig,
)
from contactd.settings.auth import AuthConfig, OidcConfig
from contactd.settings.loading import (
    ENV_PREFIX,
    ENV_SPECIAL,
    SOURCE_CONFIG,
    SYSTEM_CONFIG,
    FileConfig,
    Settings,
    default_config,
    load,
)
from contactd.settings.sections import (
    ClassifierConfig,
    ConfigError,
    CsatConfig,
    DaemonConfig,
    DatabaseConfig,
    EmailConfig,
    ImprovementConfig,
    LeaderConfig,
    MailboxConfig,
    MetricsConfig,
    OutboxConfig,
    PhoneConfig,
    RetentionConfig,
    RoutingConfig,
    SmtpConfig,
    StaffingConfig,
    TicketsConfig,
)

__all__ = [
    "ENV_PREFIX",
    "ENV_SPECIAL",
    "SOURCE_CONFIG",
    "SYSTEM_CONFIG",
    "Agency",
    "AuthConfig",
    "CalendarConfig",
    "CaseTypeConfig",
    "ClassifierConfig",
    "ConfigError",
    "CsatConfig",
    "DaemonConfig",
    "DatabaseConfig",
    "EmailConfig",
    "FileConfig",
    "GoalConfig",
    "ImprovementConfig",
    "LeaderConfig",
    "MailboxConfig",
    "MetricsConfig",
    "OidcConfig",
    "OutboxConfig",
    "PhoneConfig",
    "QueueConfig",
    "RetentionConfig",
    "RoutingConfig",
    "Settings",
    "SmtpConfig",
    "StaffingConfig",
    "TicketsConfig",
    "default_config",
    "load",
]
