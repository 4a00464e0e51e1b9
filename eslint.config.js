// The lint `.ci/run` runs (npm run lint). Function length follows STYLE §11: a function over 70
// lines is a warning to split it along its seams; one over 150 lines fails.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinRules } from 'eslint/use-at-your-own-risk';

const LENGTH = { skipBlankLines: true, skipComments: true, IIFEs: true };

/** The core rule again under a second name, so that one length warns and a longer one fails. */
const plinth = { rules: { 'max-lines-per-function-hard': builtinRules.get('max-lines-per-function') } };

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/.plinth/**', 'examples/*/dist/**', 'bench/**/results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { plinth },
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: { console: 'readonly', process: 'readonly', URL: 'readonly' } },
    rules: {
      'max-lines-per-function': ['warn', { ...LENGTH, max: 70 }],
      'plinth/max-lines-per-function-hard': ['error', { ...LENGTH, max: 150 }],
    },
  },
  {
    // A test file's describe block is a list of tests, not one function to hold in the head.
    files: ['**/*.test.ts', '**/*.test.mjs', '**/testing/**'],
    rules: { 'max-lines-per-function': 'off', 'plinth/max-lines-per-function-hard': 'off' },
  },
);
