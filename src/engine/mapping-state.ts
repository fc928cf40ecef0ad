import { SluiceError } from '../errors.ts';

/** Lambda's event source mapping states. */
export type MappingState =
  'Creating' | 'Enabling' | 'Enabled' | 'Disabling' | 'Disabled' | 'Updating' | 'Deleting';

/** Legal transitions (anything else is a bug and is refused with the state named). */
const TRANSITIONS: Record<MappingState, readonly MappingState[]> = {
  Creating: ['Enabling', 'Disabled', 'Deleting'],
  Enabling: ['Enabled', 'Disabling', 'Disabled', 'Updating', 'Deleting'],
  Enabled: ['Disabling', 'Updating', 'Deleting'],
  Disabling: ['Disabled', 'Deleting'],
  Disabled: ['Enabling', 'Updating', 'Deleting'],
  Updating: ['Enabling', 'Enabled', 'Disabling', 'Disabled', 'Deleting'],
  Deleting: [],
};

export function assertTransition(mapping: string, from: MappingState, to: MappingState): void {
  if (!TRANSITIONS[from].includes(to)) {
    throw new SluiceError('INVALID_REQUEST', `mapping ${mapping} cannot go from ${from} to ${to}`, {
      context: { mapping, from, to },
    });
  }
}
