const copiedShownMs = 1_500

/** Copies `text` to the clipboard and says so on `button` for a moment ("Copied", or why not). */
export function copyFrom(button: HTMLElement, text: string, report: (error: unknown) => void): void {
  const label = button.textContent
  const show = (said: string): void => {
    button.textContent = said
    button.dataset.copied = said === 'Copied' ? 'true' : 'false'
    setTimeout(() => {
      button.textContent = label
      delete button.dataset.copied
    }, copiedShownMs)
  }
  navigator.clipboard.writeText(text).then(
    () => show('Copied'),
    (error: unknown) => {
      show('Not copied')
      report(error)
    },
  )
}
