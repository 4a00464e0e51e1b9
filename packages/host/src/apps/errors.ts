import type { ErrorTable } from '../support/error-table.js';
import type { InstallErrorCode, UninstallErrorCode } from './installer.js';
import type { UpdateErrorCode } from './updater.js';

/** Installing, updating and removing apps (STYLE §6); README.md's table says what each code means. */
export type AppsErrorCode = InstallErrorCode | UninstallErrorCode | UpdateErrorCode | 'update.interrupted';

export const APPS_ERRORS = {
  'app.not_found': { status: 404, fix: 'check `plinth apps`' },
  'app.exists': { status: 409, fix: 'uninstall it first, or `plinth update`' },
  'app.busy': { status: 409 },
  'package.too_large': { status: 413, fix: 'make the package smaller; move large data out of `assets`' },
  'package.malformed': { status: 400, fix: 'build the package with `plinth build`' },
  'package.unsafe_entry': { status: 400, fix: 'remove links from the assets folder; `plinth build` skips those that leave it' },
  'package.unsafe_path': { status: 400, fix: 'rename the file' },
  'package.bad_signature': { status: 400, fix: 'sign again with `plinth build --sign-key`; do not edit a package after signing' },
  'package.signer_mismatch': { status: 409, fix: 'sign with the pinned key, or fully uninstall the app (deleting its data)' },
  'manifest.invalid': { status: 400, fix: 'fix each listed field' },
  'manifest.above_ceiling': { status: 400 },
  'update.wrong_app': { status: 400 },
  'update.not_newer': { status: 409 },
  'update.same_version': { status: 409 },
  'update.too_old': { status: 409 },
  'update.in_progress': { status: 409 },
  'update.after_update_failed': { status: 409 },
  'update.snapshot_failed': { status: 500 },
  'update.nothing_to_roll_back': { status: 409 },
  // Recorded in an update's history when the daemon stopped mid-update; never answered.
  'update.interrupted': { status: 400 },
} as const satisfies ErrorTable<AppsErrorCode>;
