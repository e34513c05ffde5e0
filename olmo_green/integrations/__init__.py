"""olmo-green inside other training loops, each an optional extra.

    olmo_green.integrations.olmo_core   an OLMo-core Callback and its CallbackConfig
                                        (pip install 'olmo-green[olmo-core]')

Importing this package imports no training library; each module checks its own
library and, where it is missing or of an unsupported version, fails with one
line that names the extra to install.
"""
