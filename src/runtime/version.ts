/** Versions reported by `--version`, `state` and `features`. */
export const VERSION = '0.1.0';
export const OCI_VERSION = '1.2.0';
