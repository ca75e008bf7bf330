import { h } from './dom'

export interface AskOptions {
  /** The dialog's title (its accessible name). */
  title: string
  message?: string
  /** A text field with this start value: the dialog answers its value. */
  value?: string
  /** The field's label. */
  label?: string
  confirm: string
  /** A destructive confirm is styled as such. */
  danger?: boolean
}

/**
 * Asks the user in a modal `<dialog>` of the page (focus moves in and comes back, Escape
 * cancels): resolves to the field's value (or '' without a field) on confirm, null on cancel.
 */
export function askInPage(options: AskOptions): Promise<string | null> {
  return new Promise((resolve) => {
    const field = options.value === undefined ? null : h('input', { type: 'text', value: options.value, 'data-testid': 'dialog-input', 'aria-label': options.label ?? options.title })
    const confirm = h('button', { type: 'submit', class: options.danger ? 'danger' : '', value: 'confirm', 'data-testid': 'dialog-confirm' }, options.confirm)
    const cancel = h('button', { type: 'button', 'data-testid': 'dialog-cancel' }, 'Cancel')
    const titleId = `dialog-title-${Math.random().toString(36).slice(2, 10)}`
    const dialog = h(
      'dialog',
      { class: 'ask', 'aria-labelledby': titleId, 'data-testid': 'dialog' },
      h(
        'form',
        { method: 'dialog' },
        h('h2', { id: titleId }, options.title),
        options.message ? h('p', {}, options.message) : null,
        field ? h('label', {}, options.label ?? '', field) : null,
        h('div', { class: 'row' }, h('span', { class: 'spacer' }), cancel, confirm),
      ),
    )
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null
    cancel.addEventListener('click', () => dialog.close())
    dialog.addEventListener('close', () => {
      dialog.remove()
      opener?.focus()
      resolve(dialog.returnValue === 'confirm' ? (field?.value ?? '') : null)
    })
    document.body.append(dialog)
    dialog.showModal()
    if (field) field.select()
  })
}
