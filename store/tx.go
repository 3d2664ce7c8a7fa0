package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

type rollbacker interface {
	Rollback(ctx context.Context) error
}

func rollback(ctx context.Context, tx rollbacker, err *error, what string) {
	if rbErr := tx.Rollback(ctx); rbErr != nil && !errors.Is(rbErr, pgx.ErrTxClosed) && *err == nil {
		*err = fmt.Errorf("store: %s: rollback: %w", what, rbErr)
	}
}
