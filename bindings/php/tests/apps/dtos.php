<?php

declare(strict_types=1);

namespace Spikard\Tests\Apps;

use Spikard\Attribute\ArrayOf;
use Spikard\Attribute\Field;

enum Role: string
{
    case Admin = 'admin';
    case User = 'user';
}

final class Address
{
    public function __construct(public string $city, public ?string $zip = null)
    {
    }
}

final class UserDto implements \JsonSerializable
{
    public function __construct(
        #[Field(minLength: 1, maxLength: 40)] public string $name,
        #[Field(minimum: 0, maximum: 150)] public int $age,
        public Role $role = Role::User,
        public ?Address $address = null,
        #[ArrayOf('string')] public array $tags = [],
        public float $score = 0.0,
    ) {
    }

    public function jsonSerialize(): array
    {
        return ['name' => $this->name, 'age' => $this->age, 'role' => $this->role->value,
            'city' => $this->address?->city, 'tags' => $this->tags, 'score' => $this->score, 'class' => self::class];
    }
}
