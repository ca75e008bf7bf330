// Qwen3's ChatML template cut down to what test models need: messages in <|im_start|> /
// <|im_end|> frames, earlier assistant turns stripped of their <think> part, and
// `enable_thinking=false` pre-filling an empty think block as Qwen3's own template does.
// No tool calls.
export const qwen3ChatTemplate = [
  '{%- for message in messages %}',
  '{%- set content = message.content %}',
  "{%- if message.role == 'assistant' and '</think>' in content %}",
  "{%- set content = content.split('</think>')[-1].lstrip('\\n') %}",
  '{%- endif %}',
  "{{- '<|im_start|>' + message.role + '\\n' + content + '<|im_end|>\\n' }}",
  '{%- endfor %}',
  '{%- if add_generation_prompt %}',
  "{{- '<|im_start|>assistant\\n' }}",
  '{%- if enable_thinking is defined and enable_thinking is false %}',
  "{{- '<think>\\n\\n</think>\\n\\n' }}",
  '{%- endif %}',
  '{%- endif %}',
].join('\n')
