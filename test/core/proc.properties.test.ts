import fc from 'fast-check';
import { describe, it } from 'vitest';
import { handlersFollowRegistrations, sequenceMatchesModel } from '../helpers/proc.properties.js';

describe('the sequence, against a small model', () => {
	it('calls every listener exactly once and ends in the state and exit code the model predicts', async () => {
		await fc.assert(sequenceMatchesModel(), { numRuns: 150 });
	});

	it('leaves no process listener behind after registering and removing in any order', () => {
		fc.assert(handlersFollowRegistrations(), { numRuns: 300 });
	});
});
