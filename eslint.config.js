import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import globals from 'globals'
import { layerConfig } from './eslint.layers.js'

export default tseslint.config(
  { ignores: ['dist/', 'dist-harness/', 'reports/', 'node_modules/', 'test/fixtures/', 'test-results/', 'playwright-report/', 'dev-dist/', 'test/lint-fixtures/'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.browser, ...globals.node },
      parserOptions: {
        project: ['./tsconfig.app.json', './tsconfig.node.json', './tsconfig.test.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-confusing-void-expression': 'off',
      '@typescript-eslint/no-unnecessary-condition': ['error', { allowConstantLoopConditions: true }],
      'no-console': ['error', { allow: ['warn', 'error'] }],
    },
  },
  ...layerConfig(import.meta.dirname),
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['src/relay/**', 'scripts/**', 'test/**'],
    rules: { 'no-console': 'off' },
  },
)
