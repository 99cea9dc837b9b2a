import { describe, expect, it } from 'vitest';
import { renderFields, renderTable } from '../../../bin/cli/table.js';

describe('tables', () => {
  it('L1 columns are padded to the widest cell plus three spaces; empty cells print "-"', () => {
    expect(renderTable(['NAME', 'IP'], [['web', '10.0.0.2'], ['database', undefined]])).toBe(
      'NAME       IP\nweb        10.0.0.2\ndatabase   -\n',
    );
    expect(renderTable(['A'], [])).toBe('A\n');
  });

  it('L1 key/value blocks align the values', () => {
    expect(renderFields([['Name', 'n1'], ['Subnet6', undefined]])).toBe('Name:     n1\nSubnet6:  -\n');
  });
});
