/** A filter by state: "any" or one of `states`. */
export function StateSelect({
  label,
  states,
  value,
  onChange,
}: {
  label: string;
  states: readonly string[];
  value: string;
  onChange: (state: string) => void;
}) {
  return (
    <label>
      State
      <select aria-label={label} value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        <option value="">any</option>
        {states.map((s) => (
          <option key={s} value={s}>
            {s}
          </option>
        ))}
      </select>
    </label>
  );
}
