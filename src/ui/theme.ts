import { h } from './dom'

type ThemeChoice = 'system' | 'light' | 'dark'
const storageKey = 'edgeswarm:theme'
const systemLight = '(prefers-color-scheme: light)'

function savedChoice(): ThemeChoice {
  const saved = localStorage.getItem(storageKey)
  return saved === 'light' || saved === 'dark' ? saved : 'system'
}

/**
 * Light or dark, following the system unless the user chose one (kept in localStorage: it is
 * read before the first paint, which an IndexedDB setting would not be). The resolved theme is
 * `data-theme` on <html>; styles.css redefines its colour variables for light.
 */
export function mountThemeSwitch(header: HTMLElement): void {
  const media = window.matchMedia(systemLight)
  const select = h(
    'select',
    { 'data-testid': 'theme', 'aria-label': 'theme', title: 'Colour theme' },
    h('option', { value: 'system' }, 'theme: system'),
    h('option', { value: 'light' }, 'light'),
    h('option', { value: 'dark' }, 'dark'),
  )
  const apply = (): void => {
    const choice = savedChoice()
    select.value = choice
    document.documentElement.dataset.theme = choice === 'system' ? (media.matches ? 'light' : 'dark') : choice
  }
  select.addEventListener('change', () => {
    if (select.value === 'system') localStorage.removeItem(storageKey)
    else localStorage.setItem(storageKey, select.value)
    apply()
  })
  media.addEventListener('change', apply)
  apply()
  header.append(select)
}
